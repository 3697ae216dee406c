// Pure: activity inputs and results carry it through the workflow; criu and runtimes use it.

/** Where a CRIU page server listens: the final dump (streamed) or the lazy-pages daemon (post-copy). */
export interface PageServerAddress {
  address: string;
  port: number;
}
