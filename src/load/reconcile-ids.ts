/** One id as a server's ledger reports it: how many times it arrived. */
export interface SeenId {
  readonly requestId: string;
  readonly count: number;
}

/** Requests a client issued set against the ids a server saw (both sides observed separately). */
export interface IdReconciliation {
  readonly issued: number;
  /** Distinct ids the server saw, among those it was asked about (a prefix, usually). */
  readonly seen: number;
  /** Issued ids the server never saw. */
  readonly missing: readonly string[];
  /** Ids the server saw more than once. */
  readonly duplicated: readonly SeenId[];
  /** Ids the server saw that were never issued. */
  readonly unexpected: readonly string[];
  /** Ids issued more than once by the client itself. */
  readonly issuedTwice: readonly string[];
}

/**
 * Compares the ids a load run recorded as it issued them with the ids a server's ledger holds.
 * Neither side is derived from the other, so a request dropped before the wire (missing), sent
 * twice (duplicated) or never issued by this run (unexpected) shows up.
 */
export function reconcileIds(issued: readonly string[], seen: readonly SeenId[]): IdReconciliation {
  const issuedSet = new Set<string>();
  const issuedTwice: string[] = [];
  for (const id of issued) {
    if (issuedSet.has(id)) issuedTwice.push(id);
    issuedSet.add(id);
  }
  const seenSet = new Set<string>();
  const duplicated: SeenId[] = [];
  const unexpected: string[] = [];
  for (const s of seen) {
    seenSet.add(s.requestId);
    if (s.count > 1) duplicated.push(s);
    if (!issuedSet.has(s.requestId)) unexpected.push(s.requestId);
  }
  const missing = [...issuedSet].filter((id) => !seenSet.has(id));
  return { issued: issued.length, seen: seenSet.size, missing, duplicated, unexpected, issuedTwice };
}
