import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Registered by `ferry dev up` (dev server flags) and `ferry setup` (any cluster).
export const SA = {
  workload: defineSearchAttributeKey('FerryWorkload', SearchAttributeType.KEYWORD),
  runtime: defineSearchAttributeKey('FerryRuntime', SearchAttributeType.KEYWORD),
  source: defineSearchAttributeKey('FerrySource', SearchAttributeType.KEYWORD),
  destination: defineSearchAttributeKey('FerryDestination', SearchAttributeType.KEYWORD),
  phase: defineSearchAttributeKey('FerryPhase', SearchAttributeType.KEYWORD),
  outcome: defineSearchAttributeKey('FerryOutcome', SearchAttributeType.KEYWORD),
};

export const SEARCH_ATTRIBUTE_NAMES = Object.values(SA).map((k) => k.name);
