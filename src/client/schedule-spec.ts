// When a schedule of ferry's runs: once (--at) or repeatedly (--cron), exactly one of the two.
import type { ScheduleSpec } from '@temporalio/client';
import { MigrationRequestError } from './errors.js';

export interface When {
  at?: Date;
  cron?: string;
}

/** Checks that exactly one of at and cron is given; the Temporal spec for it. */
export function scheduleSpec(when: When): ScheduleSpec {
  if (!when.at === !when.cron) throw new MigrationRequestError('give exactly one of --at ISO or --cron EXPR');
  if (when.at && Number.isNaN(when.at.getTime()))
    throw new MigrationRequestError('--at is not an ISO date, e.g. 2026-12-01T02:00:00Z');
  return when.at ? { calendars: [atCalendar(when.at)] } : { cronExpressions: [when.cron!] };
}

/** The end of a schedule id: the time of a one-shot schedule, "cron" for a repeated one. */
export const scheduleIdSuffix = (when: When) =>
  when.at ? when.at.toISOString().replace(/[:.]/g, '-') : 'cron';

const MONTHS = [
  'JANUARY',
  'FEBRUARY',
  'MARCH',
  'APRIL',
  'MAY',
  'JUNE',
  'JULY',
  'AUGUST',
  'SEPTEMBER',
  'OCTOBER',
  'NOVEMBER',
  'DECEMBER',
] as const;

/** A calendar spec that matches one instant (to the second), for one-shot schedules. */
function atCalendar(at: Date) {
  return {
    year: at.getUTCFullYear(),
    month: MONTHS[at.getUTCMonth()]!,
    dayOfMonth: at.getUTCDate(),
    hour: at.getUTCHours(),
    minute: at.getUTCMinutes(),
    second: at.getUTCSeconds(),
    comment: `once at ${at.toISOString()}`,
  };
}
