import { idleConfigOf, type AdapterOptions } from './adapter-options.js'
import { correlatedSpan, ddObject, type DdFields } from './correlation.js'

/** A winston log record (logform's `TransformableInfo`), typed here so winston is never imported. */
export interface WinstonInfo {
  level: string
  message: unknown
  [key: string | symbol]: unknown
}

/** A winston format (logform's `Format`): anything with `transform(info)`. */
export interface WinstonFormat {
  options?: object
  transform<T extends WinstonInfo>(info: T, opts?: unknown): T
}

/**
 * The record with `dd` added, as a copy. winston hands the user's own object on as the record when one
 * is logged (`logger.info({ message, ... })`), so setting a field on it would change the caller's object.
 */
function withDd<T extends object>(info: T, dd: DdFields): T {
  const proto: unknown = Object.getPrototypeOf(info)
  if (proto === Object.prototype || proto === null) return { ...info, dd }
  // An Error (winston passes a logged error through as the record) or a class instance: a copy with the
  // same prototype and every own property, so `instanceof Error`, message and stack survive for
  // `format.errors()` further down the chain.
  const descriptors: PropertyDescriptorMap = Object.getOwnPropertyDescriptors(info)
  const stack = descriptors.stack
  if (stack !== undefined && stack.get !== undefined) {
    // Newer V8 versions make `stack` an accessor that reads the original error's internal slot.
    descriptors.stack = { value: (info as { stack?: unknown }).stack, writable: true, enumerable: stack.enumerable ?? false, configurable: true }
  }
  descriptors.dd = { value: dd, writable: true, enumerable: true, configurable: true }
  return Object.create(proto as object | null, descriptors) as T
}

/**
 * A winston format that adds `dd` (trace_id, span_id, service, env, version) to every record. Put it
 * before the format that serializes: `format.combine(winstonFormat(), format.json())`. winston is not
 * imported: a format is any object with `transform`. A record that already has `dd` is passed on as is.
 */
export function winstonFormat(options?: AdapterOptions): WinstonFormat {
  const idleConfig = idleConfigOf('winstonFormat', options)
  return {
    transform<T extends WinstonInfo>(info: T): T {
      try {
        if (info === null || typeof info !== 'object' || info.dd !== undefined) return info
        const dd = ddObject(correlatedSpan(), idleConfig)
        return dd === undefined ? info : withDd(info, dd)
      } catch {
        // A hostile record (a throwing getter, a revoked proxy) goes on without correlation.
        return info
      }
    }
  }
}
