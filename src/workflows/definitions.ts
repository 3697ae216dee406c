import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { MigrationProgress, ResolveSignal } from '../domain/types.js';

export const progressQuery = defineQuery<MigrationProgress>('progress');
/** An operator's word on a host the workflow cannot reach (`ferry resolve`). */
export const resolveSignal = defineSignal<[ResolveSignal]>('resolve');
