/**
 * node:http and node:https clients — how axios, got, node-fetch v2 and the AWS SDK reach the network.
 * `request` and `get` of both modules are wrapped (`get` calls the module's internal `request`, not the
 * exported one, so both need it). Each call constructs the real ClientRequest with its connection held
 * until the policy decides (see request.ts and connection.ts): a denied request never opens a socket and
 * fails with PolicyDeniedError as its 'error' event.
 *
 * fetch (undici) never goes through node:http — it has its own instrumentation. A request made while an
 * outer instrumentation already decided (`currentDecided()`) passes through undecided.
 */
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { InstrumentationBase, InstrumentationNodeModuleDefinition, isWrapped } from '@opentelemetry/instrumentation';
import { currentDecided, resolveGuard } from '@checkrd/instrumentation-common';
import type { CoreHttpModule, RequestFn, Scheme } from './internal-types.js';
import { guardedRequest } from './request.js';
import type { HttpInstrumentationConfig } from './types.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from './version.js';

const nodeRequire = createRequire(import.meta.url);

/** Marks our wrappers (shimmer's isWrapped alone would also be true for another instrumentation's). */
const WRAPPER = Symbol.for('checkrd.http.wrapper.v1');

interface WrapperState {
  /** False once unpatched while another wrapper sat on top of ours: ours then passes through. */
  active: boolean;
  inst: HttpInstrumentation;
}

type Wrapped = RequestFn & { [WRAPPER]?: WrapperState; __original?: Wrapped };

const METHODS = ['request', 'get'] as const;

/** Our wrapper in the chain of wrappers of `fn`, if any. */
function ours(fn: Wrapped | undefined): Wrapped | undefined {
  for (let f = fn, depth = 0; f && depth < 16; f = f.__original, depth++) if (f[WRAPPER]) return f;
  return undefined;
}

export class HttpInstrumentation extends InstrumentationBase<HttpInstrumentationConfig> {
  constructor(config: HttpInstrumentationConfig = {}) {
    super(PACKAGE_NAME, PACKAGE_VERSION, config);
  }

  protected init() {
    return (['http', 'https'] as const).map(
      (scheme) =>
        new InstrumentationNodeModuleDefinition(
          scheme,
          ['*'],
          (moduleExports: CoreHttpModule) => this.patch(moduleExports, scheme),
          (moduleExports: CoreHttpModule | undefined) => {
            if (moduleExports) this.unpatch(moduleExports);
          },
        ),
    );
  }

  /** The instrumentation's tracer (for the request guard). */
  get decisionTracer() {
    return this.tracer;
  }

  /**
   * Registers the require/import hooks (base class), and patches node:http and node:https now: core
   * modules are already loaded, and clients look `http.request` up on the shared exports at call time.
   * Runs from the base constructor too, so it uses no instance field of this class.
   */
  override enable(): void {
    super.enable();
    this.patch(nodeRequire('node:http') as CoreHttpModule, 'http');
    this.patch(nodeRequire('node:https') as CoreHttpModule, 'https');
  }

  override disable(): void {
    super.disable();
    this.unpatch(nodeRequire('node:http') as CoreHttpModule);
    this.unpatch(nodeRequire('node:https') as CoreHttpModule);
  }

  /** Wraps `request` and `get` of a loaded http or https module; idempotent. */
  patch(m: CoreHttpModule, scheme: Scheme): CoreHttpModule {
    for (const name of METHODS) {
      const existing = ours(m[name] as Wrapped);
      if (existing) {
        existing[WRAPPER]!.active = true;
        existing[WRAPPER]!.inst = this;
        continue;
      }
      this._wrap(m, name, (original) => guardedFunction({ active: true, inst: this }, m, scheme, original));
    }
    syncBuiltinESMExports(); // `import { request } from 'node:http'` bindings follow the exports
    return m;
  }

  /** Restores the originals; idempotent. Ours stays, inert, if another wrapper was put on top of it. */
  unpatch(m: CoreHttpModule): void {
    for (const name of METHODS) {
      const fn = m[name] as Wrapped;
      if (fn[WRAPPER] && isWrapped(fn)) this._unwrap(m, name);
      else {
        const inner = ours(fn);
        if (inner) inner[WRAPPER]!.active = false;
      }
    }
    syncBuiltinESMExports();
  }
}

function guardedFunction(state: WrapperState, m: CoreHttpModule, scheme: Scheme, original: RequestFn): RequestFn {
  const wrapper: Wrapped = function (this: unknown, ...args: unknown[]) {
    if (!state.active) return original.apply(this, args);
    const inst = state.inst;
    const guard = resolveGuard(inst.getConfig().guard, 'http');
    if (!guard || currentDecided()) return original.apply(this, args);
    return guardedRequest({ tracer: inst.decisionTracer, guard, scheme, module: m }, this, original, args);
  };
  Object.defineProperty(wrapper, WRAPPER, { value: state });
  return wrapper;
}
