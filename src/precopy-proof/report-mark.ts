/** Prefix of the guest's one-line JSON report on its console. */
export const REPORT_MARK = 'FERRY-PRECOPY-REPORT ';
