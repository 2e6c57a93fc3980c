import type { InstrumentationConfig } from '@opentelemetry/instrumentation';
import type { Guard } from '@checkrd/instrumentation-common';

export interface HttpInstrumentationConfig extends InstrumentationConfig {
  /** The guard to decide with; default: the one checkrd's init() installed (`setGlobalGuard`). */
  guard?: Guard;
}
