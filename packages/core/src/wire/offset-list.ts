/**
 * A growable list of byte offsets in a Uint32Array that is kept from one payload to the next. A payload
 * of 10,000 spans would otherwise regrow a JS array of 10,000 numbers each time, in V8's young
 * generation, where it survives scavenges for the payload's whole life and makes V8 grow that
 * generation (+50 MB of RSS measured with 1 MiB payloads).
 */
export class OffsetList {
  #items = new Uint32Array(1024)
  length = 0

  push(offset: number): void {
    if (this.length === this.#items.length) {
      const grown = new Uint32Array(this.#items.length * 2)
      grown.set(this.#items)
      this.#items = grown
    }
    this.#items[this.length++] = offset
  }

  /** The offsets plus `base`, in a new array of their own. */
  copy(base: number): Uint32Array {
    const out = this.#items.slice(0, this.length)
    if (base !== 0) for (let i = 0; i < out.length; i++) out[i] += base
    return out
  }
}
