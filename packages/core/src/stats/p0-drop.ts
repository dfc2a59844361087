import type { CoreSpan } from '../model/span.js'
import { SPAN_SAMPLING_MECHANISM } from '../sampling/span-sampler.js'

/** Set on spans kept by App Analytics (`_dd1.sr.eausr`): the agent keeps them from dropped traces too. */
const ANALYTICS_RATE = '_dd1.sr.eausr'

/**
 * What of a chunk still goes to the agent when P0 traces are dropped in the tracer, as libdatadog's
 * `drop_chunks` decides it: a kept (priority > 0 or undecided) chunk, or a chunk with an error span,
 * goes whole; of a rejected chunk only the spans single-span sampling kept (and analyzed spans) go; an
 * empty result means the whole chunk is dropped. Returns `chunk` itself when nothing is removed.
 */
export function keptOfP0(chunk: readonly CoreSpan[]): readonly CoreSpan[] {
  const priority = chunk[0]?.trace.samplingPriority
  if (priority === undefined || priority > 0) return chunk
  for (let i = 0; i < chunk.length; i++) if (chunk[i].error !== 0) return chunk
  let kept: CoreSpan[] | undefined
  for (let i = 0; i < chunk.length; i++) {
    const metrics = chunk[i].metrics
    if (metrics['_dd.span_sampling.mechanism'] === SPAN_SAMPLING_MECHANISM || typeof metrics[ANALYTICS_RATE] === 'number') (kept ??= []).push(chunk[i])
  }
  return kept ?? []
}
