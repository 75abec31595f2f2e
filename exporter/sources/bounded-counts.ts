/**
 * A bounded multiset of keys with a recency order: at most `capacity` entries, the least
 * recently added evicted first, and optionally each entry expiring `ttlMs` after it was
 * last added to. It keeps the log matchers' per-connection state (sshd) and each log
 * source's failures per client, both fed by every matching line of a log that an attacker
 * writes.
 *
 * The entries live in typed arrays indexed by slot, with a doubly linked recency list
 * through them. Number keys (an IPv4 address as a number, a connection as address and
 * port) are found through an open-addressing hash table of typed arrays; text keys through
 * a Map. An add, a hit and an eviction are then a few array writes, and a number key
 * allocates nothing. (Objects per entry in a Map were most of the time spent on a log
 * from 100,000 clients: every new client evicted one, V8's Map leaves a hole for each
 * deleted entry until it is rebuilt, and every entry that outlived the young generation
 * was copied and swept by the garbage collector.) The arrays start at 4096 entries and
 * double up to `capacity`, so a large `max_clients` costs memory only once that many are seen.
 */
export class BoundedCounts {
  private readonly byText = new Map<string, number>();
  /** The hash table of number keys: the key at each position, and its slot + 1 (0: empty). */
  private tableKeys: Float64Array;
  private tableSlots: Int32Array;
  private mask: number;
  private numbers = 0;
  /** Per slot: its key (a string, or undefined for a number key, then in slotNumber). */
  private slotText: (string | undefined)[];
  private slotNumber: Float64Array;
  private counts: Float64Array;
  private at: Float64Array;
  private older: Int32Array;
  private newer: Int32Array;
  private free: Int32Array;
  private freeCount = 0;
  /** Slots handed out so far (each used slot is in the list or on the free stack). */
  private used = 0;
  /** Slots the arrays hold now (at most `capacity`). */
  private slots: number;
  private oldest = -1;
  private newest = -1;
  private readonly expires: boolean;

  constructor(
    private readonly capacity: number,
    private readonly ttlMs = Infinity,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError('capacity must be a whole number ≥ 1');
    this.expires = Number.isFinite(ttlMs);
    this.slots = Math.min(capacity, INITIAL_SLOTS);
    this.slotText = new Array<string | undefined>(this.slots).fill(undefined);
    this.slotNumber = new Float64Array(this.slots);
    this.counts = new Float64Array(this.slots);
    this.at = new Float64Array(this.expires ? this.slots : 0);
    this.older = new Int32Array(this.slots);
    this.newer = new Int32Array(this.slots);
    this.free = new Int32Array(this.slots);
    const size = tableSize(this.slots);
    this.tableKeys = new Float64Array(size);
    this.tableSlots = new Int32Array(size);
    this.mask = size - 1;
  }

  get size(): number {
    return this.numbers + this.byText.size;
  }

  /** Where a number key's search starts in the table (keys are integers below 2^53). */
  private home(key: number): number {
    let h = Math.imul((key >>> 0) ^ Math.imul((key / 4294967296) >>> 0, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 15;
    return h & this.mask;
  }

  /** The table position of a number key, or -1. */
  private position(key: number): number {
    for (let i = this.home(key); this.tableSlots[i] !== 0; i = (i + 1) & this.mask) {
      if (this.tableKeys[i] === key) return i;
    }
    return -1;
  }

  /** The slot of `key`, expired or not, or -1. */
  private find(key: number | string): number {
    if (typeof key === 'string') return this.byText.get(key) ?? -1;
    const i = this.position(key);
    return i < 0 ? -1 : this.tableSlots[i]! - 1;
  }

  /** The live slot of `key` at time `t` (unused without expiry), or -1 (an expired entry is removed). */
  private slot(key: number | string, t: number): number {
    const i = this.find(key);
    if (i < 0) return -1;
    if (this.expires && t - this.at[i]! > this.ttlMs) {
      this.remove(i);
      return -1;
    }
    return i;
  }

  get(key: number | string): number {
    const i = this.slot(key, this.expires ? this.now() : 0);
    return i < 0 ? 0 : this.counts[i]!;
  }

  /**
   * Adds `n` to `key` and makes it the most recent. Returns true when the least recent entry
   * was evicted to make room for it.
   */
  add(key: number | string, n = 1): boolean {
    let evicted = false;
    const t = this.expires ? this.now() : 0;
    let i = this.slot(key, t);
    if (i >= 0) {
      this.counts[i]! += n;
      if (i !== this.newest) {
        this.unlink(i);
        this.append(i);
      }
    } else {
      if (this.freeCount > 0) i = this.free[--this.freeCount]!;
      else if (this.used < this.slots) i = this.used++;
      else if (this.slots < this.capacity) {
        this.grow();
        i = this.used++;
      } else {
        i = this.oldest;
        this.remove(i);
        this.freeCount--;
        evicted = true;
      }
      if (typeof key === 'string') {
        // Kept for as long as the entry lives: a copy of its own, since a line's text may
        // be a slice of a larger decoded piece of the log that it would keep alive.
        const own = ownString(key);
        this.slotText[i] = own;
        this.byText.set(own, i);
      } else {
        this.slotText[i] = undefined;
        this.slotNumber[i] = key;
        this.insert(key, i);
        this.numbers++;
      }
      this.counts[i] = n;
      this.append(i);
    }
    if (this.expires) this.at[i] = t;
    return evicted;
  }

  /** Takes one from `key`; false when it has none. */
  take(key: number | string): boolean {
    const i = this.slot(key, this.expires ? this.now() : 0);
    if (i < 0) return false;
    if (this.counts[i] === 1) this.remove(i);
    else this.counts[i]!--;
    return true;
  }

  /** Takes up to `n` from `key`; returns how many it had to give. */
  takeUpTo(key: number | string, n: number): number {
    const i = this.slot(key, this.expires ? this.now() : 0);
    if (i < 0 || n <= 0) return 0;
    const had = this.counts[i]!;
    if (had <= n) {
      this.remove(i);
      return had;
    }
    this.counts[i] = had - n;
    return n;
  }

  /** The live entries as [key, count], least recent first. */
  *entries(): IterableIterator<[number | string, number]> {
    const t = this.expires ? this.now() : 0;
    for (let i = this.oldest; i >= 0; i = this.newer[i]!) {
      if (this.expires && t - this.at[i]! > this.ttlMs) continue;
      yield [this.slotText[i] ?? this.slotNumber[i]!, this.counts[i]!];
    }
  }

  private insert(key: number, slot: number): void {
    let p = this.home(key);
    while (this.tableSlots[p] !== 0) p = (p + 1) & this.mask;
    this.tableKeys[p] = key;
    this.tableSlots[p] = slot + 1;
  }

  /** Doubles the slots (up to capacity) and rebuilds the table for them. */
  private grow(): void {
    const slots = Math.min(this.capacity, this.slots * 2);
    const more = <T extends Float64Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const b = make(a.length === 0 ? 0 : slots);
      b.set(a);
      return b;
    };
    this.slotNumber = more(this.slotNumber, (n) => new Float64Array(n));
    this.counts = more(this.counts, (n) => new Float64Array(n));
    this.at = more(this.at, (n) => new Float64Array(n));
    this.older = more(this.older, (n) => new Int32Array(n));
    this.newer = more(this.newer, (n) => new Int32Array(n));
    this.free = more(this.free, (n) => new Int32Array(n));
    for (let i = this.slots; i < slots; i++) this.slotText.push(undefined);
    this.slots = slots;
    const size = tableSize(slots);
    const keys = this.tableKeys;
    const at = this.tableSlots;
    this.tableKeys = new Float64Array(size);
    this.tableSlots = new Int32Array(size);
    this.mask = size - 1;
    for (let p = 0; p < keys.length; p++) if (at[p] !== 0) this.insert(keys[p]!, at[p]! - 1);
  }

  private remove(i: number): void {
    this.unlink(i);
    const text = this.slotText[i];
    if (text !== undefined) {
      this.byText.delete(text);
      this.slotText[i] = undefined;
    } else this.unindex(this.slotNumber[i]!);
    this.free[this.freeCount++] = i;
  }

  /** Removes a number key from the table, moving back the entries after it (no tombstones). */
  private unindex(key: number): void {
    let hole = this.position(key);
    if (hole < 0) return;
    this.numbers--;
    const mask = this.mask;
    for (let j = (hole + 1) & mask; this.tableSlots[j] !== 0; j = (j + 1) & mask) {
      const home = this.home(this.tableKeys[j]!);
      // The entry at j may fill the hole unless its home lies cyclically in (hole, j].
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      this.tableKeys[hole] = this.tableKeys[j]!;
      this.tableSlots[hole] = this.tableSlots[j]!;
      hole = j;
    }
    this.tableSlots[hole] = 0;
  }

  private unlink(i: number): void {
    const o = this.older[i]!;
    const w = this.newer[i]!;
    if (o >= 0) this.newer[o] = w;
    else this.oldest = w;
    if (w >= 0) this.older[w] = o;
    else this.newest = o;
  }

  private append(i: number): void {
    this.older[i] = this.newest;
    this.newer[i] = -1;
    if (this.newest >= 0) this.newer[this.newest] = i;
    else this.oldest = i;
    this.newest = i;
  }
}

/** Slots allocated at first: the sshd state's 4096 and the default max_clients of 1000 fit. */
const INITIAL_SLOTS = 4096;

/** A power of two at least twice `slots` (a load factor of at most one half). */
function tableSize(slots: number): number {
  let size = 16;
  while (size < slots * 2) size *= 2;
  return size;
}

/**
 * A copy of `s` that shares no memory with it. V8 represents a substring of 13 characters
 * or more as a view into its parent, so a client address cut from a line that was itself
 * cut from a decoded piece of the log would keep that whole piece alive for as long as
 * the address is kept; a round trip through bytes yields a string of its own.
 */
export function ownString(s: string): string {
  return s.length < 13 ? s : Buffer.from(s, 'utf8').toString('utf8');
}
