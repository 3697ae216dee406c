import { defineQuery } from '@temporalio/workflow';
import type { MigrationProgress } from '../domain/types.js';

export const progressQuery = defineQuery<MigrationProgress>('progress');
