/** murmur3's 32-bit finaliser: a cheap, well-mixed hash of an integer. */
export function mix32(x: number): number {
  let h = x | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * The memo of the linearizability search: the set of (placed operations, state) pairs already
 * explored. Stores each placed-set as raw 16-bit words in one growing buffer and indexes them in an
 * open-addressing table, so a lookup allocates nothing; a 32-bit hash only picks the slot, equality
 * is decided on the full words, so a hash collision can never prune a branch by mistake.
 */
export class VisitedSet {
  // Small to start with: many parts may be searched at once, and most need few entries.
  private slots = new Int32Array(1 << 7); // entry index + 1; 0 marks an empty slot
  private hashes = new Int32Array(1 << 6);
  private states = new Int32Array(1 << 6);
  private words: Uint16Array;
  private count = 0;

  constructor(private readonly width: number) {
    this.words = new Uint16Array((1 << 6) * width);
  }

  /** How many pairs were recorded. */
  get size(): number {
    return this.count;
  }

  /** Records (`placed`, `stateId`) whose hash is `hash`; false if it was already there. */
  addIfNew(hash: number, stateId: number, placed: Uint16Array): boolean {
    const mask = this.slots.length - 1;
    const width = this.width;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const stored = this.slots[slot] as number;
      if (stored === 0) break;
      const e = stored - 1;
      if (this.hashes[e] !== hash || this.states[e] !== stateId) continue;
      let same = true;
      for (let w = 0, base = e * width; w < width; w++) {
        if (this.words[base + w] !== placed[w]) {
          same = false;
          break;
        }
      }
      if (same) return false;
    }
    if (this.count === this.hashes.length) this.grow();
    const e = this.count++;
    this.hashes[e] = hash;
    this.states[e] = stateId;
    this.words.set(placed, e * width);
    // Keep the table at most half full so that probe runs stay short.
    if (this.count * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    else this.insertSlot(e);
    return true;
  }

  private insertSlot(e: number): void {
    const mask = this.slots.length - 1;
    let slot = (this.hashes[e] as number) & mask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
    this.slots[slot] = e + 1;
  }

  private grow(): void {
    const capacity = this.hashes.length * 2;
    const hashes = new Int32Array(capacity);
    hashes.set(this.hashes);
    this.hashes = hashes;
    const states = new Int32Array(capacity);
    states.set(this.states);
    this.states = states;
    const words = new Uint16Array(capacity * this.width);
    words.set(this.words);
    this.words = words;
  }

  private rehash(size: number): void {
    this.slots = new Int32Array(size);
    for (let e = 0; e < this.count; e++) this.insertSlot(e);
  }
}
