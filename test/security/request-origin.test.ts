import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SessionConfigError } from '../../packages/coatcheck/src/core/errors.js';
import {
  createOriginPolicy,
  type OriginRequest,
} from '../../packages/coatcheck/src/core/policies/request-origin.js';

const APP = 'https://app.test';
const SIBLING = 'https://admin.app.test';
const decide = createOriginPolicy({ origins: [APP], sameSiteOrigins: [SIBLING] });

const post = (headers: Partial<OriginRequest> = {}, strict = false): OriginRequest => ({
  method: 'POST',
  authenticated: true,
  strict,
  ...headers,
});
const get = (headers: Partial<OriginRequest> = {}, authenticated = true): OriginRequest => ({
  method: 'GET',
  authenticated,
  strict: false,
  ...headers,
});
const reasonOf = (request: OriginRequest) => {
  const decision = decide(request);
  return decision.allowed ? 'allowed' : decision.reason;
};

describe('resource-isolation policy, unsafe methods', () => {
  it('S56 cross-site and non-allowlisted same-site are refused; same-origin and none go on', () => {
    assert.equal(reasonOf(post({ secFetchSite: 'cross-site' })), 'cross-site');
    assert.equal(reasonOf(post({ secFetchSite: 'cross-site', origin: APP })), 'cross-site');
    assert.equal(reasonOf(post({ secFetchSite: 'same-site' })), 'same-site');
    assert.equal(reasonOf(post({ secFetchSite: 'same-site', origin: 'https://blog.app.test' })), 'same-site');
    assert.equal(reasonOf(post({ secFetchSite: 'same-site', origin: SIBLING })), 'allowed');
    assert.equal(reasonOf(post({ secFetchSite: 'same-site', referer: `${SIBLING}/users` })), 'allowed');
    assert.equal(reasonOf(post({ secFetchSite: 'same-origin' })), 'allowed');
    assert.equal(reasonOf(post({ secFetchSite: 'none' })), 'allowed');
    assert.equal(reasonOf(post({ secFetchSite: 'same-origin' }, true)), 'allowed');
  });

  it('S56 a Sec-Fetch-Site value no browser sends is refused', () => {
    for (const site of ['Same-Origin', 'same-origin, cross-site', '', 'same_origin', 'cross-site ']) {
      assert.equal(reasonOf(post({ secFetchSite: site })), 'invalid-sec-fetch-site', site);
    }
  });

  it('S59 without Sec-Fetch-Site the Origin must be configured, exactly', () => {
    assert.equal(reasonOf(post({ origin: APP })), 'allowed');
    assert.equal(reasonOf(post({ origin: SIBLING })), 'allowed');
    assert.equal(reasonOf(post({ origin: 'https://evil.test' })), 'origin-mismatch');
    assert.equal(reasonOf(post({ origin: 'https://app.test.evil.test' })), 'origin-mismatch');
    assert.equal(reasonOf(post({ origin: 'null' })), 'origin-null');
    for (const near of ['http://app.test', 'https://app.test:443', 'https://app.test/', 'https://APP.test']) {
      assert.equal(reasonOf(post({ origin: near })), 'origin-mismatch', near);
    }
    assert.equal(reasonOf(post({ origin: `${APP}, https://evil.test` })), 'origin-mismatch');
  });

  it('S59 without Origin the Referer origin decides; a foreign Origin is never saved by a good Referer', () => {
    assert.equal(reasonOf(post({ referer: 'https://evil.test/x' })), 'referer-mismatch');
    assert.equal(reasonOf(post({ referer: `${APP}/account` })), 'allowed');
    assert.equal(reasonOf(post({ referer: 'https://app.test.evil.test/x' })), 'referer-mismatch');
    assert.equal(reasonOf(post({ referer: 'not a url' })), 'referer-mismatch');
    assert.equal(reasonOf(post({ referer: 'data:text/html,x' })), 'referer-mismatch');
    assert.equal(reasonOf(post({ origin: 'https://evil.test', referer: `${APP}/x` })), 'origin-mismatch');
  });

  it('S59 with neither header the token decides, except on strict routes', () => {
    assert.equal(reasonOf(post({})), 'allowed');
    assert.equal(reasonOf(post({}, true)), 'no-origin');
    assert.equal(reasonOf(post({ origin: APP }, true)), 'allowed');
    assert.equal(reasonOf(post({ referer: `${APP}/admin` }, true)), 'allowed');
  });
});

describe('resource-isolation policy, safe methods', () => {
  it('S56 a cross-site subresource read of an authenticated resource is refused; navigation is not', () => {
    const script = { secFetchSite: 'cross-site', secFetchMode: 'no-cors', secFetchDest: 'script' };
    assert.equal(reasonOf(get(script)), 'cross-site-subresource');
    assert.equal(reasonOf(get({ ...script, secFetchDest: 'image' })), 'cross-site-subresource');
    assert.equal(
      reasonOf(get({ secFetchSite: 'cross-site', secFetchMode: 'cors' })),
      'cross-site-subresource',
    );
    assert.equal(
      reasonOf(get({ secFetchSite: 'cross-site', secFetchMode: 'navigate', secFetchDest: 'document' })),
      'allowed',
    );
    assert.equal(
      reasonOf(get({ secFetchSite: 'cross-site', secFetchMode: 'navigate', secFetchDest: 'embed' })),
      'cross-site-subresource',
    );
    assert.equal(
      reasonOf({ ...get({ secFetchSite: 'cross-site', secFetchMode: 'navigate' }), method: 'HEAD' }),
      'cross-site-subresource',
    );
  });

  it('S56 anonymous resources and same-origin reads are left alone', () => {
    assert.equal(reasonOf(get({ secFetchSite: 'cross-site', secFetchMode: 'no-cors' }, false)), 'allowed');
    assert.equal(reasonOf(get({ secFetchSite: 'same-origin', secFetchMode: 'cors' })), 'allowed');
    assert.equal(reasonOf(get({ secFetchSite: 'none', secFetchMode: 'navigate' })), 'allowed');
    assert.equal(
      reasonOf(get({ secFetchSite: 'same-site', origin: SIBLING, secFetchMode: 'cors' })),
      'allowed',
    );
    assert.equal(
      reasonOf(get({ secFetchSite: 'same-site', secFetchMode: 'no-cors' })),
      'cross-site-subresource',
    );
  });

  it('S59 without Sec-Fetch-Site a foreign Origin on an authenticated read is refused', () => {
    assert.equal(reasonOf(get({})), 'allowed');
    assert.equal(reasonOf(get({ origin: APP })), 'allowed');
    assert.equal(reasonOf(get({ origin: 'https://evil.test' })), 'origin-mismatch');
    assert.equal(reasonOf(get({ origin: 'null' })), 'origin-null');
    assert.equal(reasonOf(get({ origin: 'https://evil.test' }, false)), 'allowed');
  });
});

describe('resource-isolation policy, configuration', () => {
  it('refuses anything but exact origins, naming the option', () => {
    const bad: unknown[] = [
      'https://app.test/',
      'https://App.test',
      'https://app.test:443',
      'https://app.test/path',
      'null',
      '*',
      'app.test',
      'ftp://app.test',
      'https://*.app.test',
      42,
    ];
    for (const origin of bad) {
      assert.throws(
        () => createOriginPolicy({ origins: [origin as string] }),
        (error: unknown) => error instanceof SessionConfigError && error.option === 'origins',
        String(origin),
      );
      assert.throws(
        () => createOriginPolicy({ origins: [APP], sameSiteOrigins: [origin as string] }),
        (error: unknown) => error instanceof SessionConfigError && error.option === 'sameSiteOrigins',
      );
    }
    assert.throws(() => createOriginPolicy({ origins: [] }), SessionConfigError);
    assert.throws(() => createOriginPolicy({ origins: APP as unknown as string[] }), SessionConfigError);
    assert.doesNotThrow(() =>
      createOriginPolicy({ origins: ['http://localhost:3000', 'https://[::1]:8443'] }),
    );
  });
});

const ownOrigins = new Set([APP, SIBLING]);
const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
const host = fc.oneof(
  fc.domain(),
  label.map((l) => `${l}.app.test`),
  label.map((l) => `app.test.${l}`),
  label.map((l) => `${l}app.test`),
  fc.constantFrom(
    'app.test',
    'APP.TEST',
    'app.test.',
    'admin.app.test',
    'app.tes',
    'xn--app-9na.test',
    '[::1]',
  ),
);
const port = fc.option(fc.integer({ min: 0, max: 65_535 }), { nil: undefined });
const scheme = fc.constantFrom('https', 'http', 'HTTPS', 'ftp', 'ws', 'wss', 'file', 'chrome-extension');
const built = fc.tuple(scheme, host, port).map(([s, h, p]) => `${s}://${h}${p === undefined ? '' : `:${p}`}`);
const tricks = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(APP, SIBLING),
      fc.constantFrom('/', '.', '.evil.test', ':443', ':8443', ' ', '/x', '#', '?', '%2F', '\t'),
    )
    .map(([o, s]) => o + s),
  fc
    .tuple(
      fc.constantFrom('x', ' ', 'https://evil.test/', 'null', 'https://evil.test@'),
      fc.constantFrom(APP, SIBLING),
    )
    .map(([p, o]) => p + o),
  fc.constantFrom('null', '', 'https://', 'https://app.test, https://evil.test'),
  fc.string(),
);
const foreign = fc.oneof(built, tricks).filter((origin) => !ownOrigins.has(origin));
/** Referers a page at `origin` could send, kept only where they really name another origin. */
const refererFrom = (origin: string) => {
  const foreignReferers = [`${origin}/`, `${origin}/page?x=1`, origin].filter((referer) => {
    try {
      return !ownOrigins.has(new URL(referer).origin);
    } catch {
      return true;
    }
  });
  return foreignReferers.length === 0
    ? fc.constant(undefined)
    : fc.option(fc.constantFrom(...foreignReferers), { nil: undefined });
};
const unsafeMethod = fc.constantFrom('POST', 'PUT', 'PATCH', 'DELETE', 'post', 'PROPFIND');

describe('resource-isolation policy, properties', () => {
  it('S56 S59 no unsafe request from another origin passes, whatever the browser sends', () => {
    const request = foreign
      .chain((origin) =>
        fc.record({
          method: unsafeMethod,
          secFetchSite: fc.constantFrom('cross-site', 'same-site', undefined),
          secFetchMode: fc.constantFrom('cors', 'navigate', 'no-cors', undefined),
          secFetchDest: fc.constantFrom('document', 'empty', 'iframe', undefined),
          origin: fc.option(fc.constant(origin), { nil: undefined }),
          referer: refererFrom(origin),
          authenticated: fc.boolean(),
          strict: fc.boolean(),
        }),
      )
      // With no header at all only strict routes fail closed: the token decides elsewhere (S59).
      .filter(
        (r) => r.secFetchSite !== undefined || r.origin !== undefined || r.referer !== undefined || r.strict,
      );
    fc.assert(
      fc.property(request, (r) => decide(r).allowed === false),
      { numRuns: 3_000 },
    );
  });

  it('S56 a Sec-Fetch-Site value outside the four the standard defines never passes an unsafe request', () => {
    const site = fc.string().filter((s) => s !== 'same-origin' && s !== 'none');
    fc.assert(
      fc.property(
        site,
        fc.option(fc.constantFrom(APP, SIBLING), { nil: undefined }),
        (secFetchSite, origin) => decide(post({ secFetchSite, origin })).allowed === false,
      ),
      { numRuns: 1_000 },
    );
  });

  it('S56 no cross-origin non-navigation read of an authenticated resource passes', () => {
    const nonNavigation = fc.oneof(
      fc.record({
        mode: fc.constantFrom('cors', 'no-cors', 'same-origin', 'websocket', undefined),
        dest: fc.constantFrom('script', 'image', 'empty', 'style', 'object', 'embed', undefined),
      }),
      fc.record({
        mode: fc.constant('navigate'),
        dest: fc.constantFrom('script', 'image', 'object', 'embed'),
      }),
    );
    const request = foreign.chain((origin) =>
      fc.oneof(
        fc.record({
          method: fc.constantFrom('GET', 'HEAD', 'OPTIONS'),
          secFetchSite: fc.constantFrom('cross-site', 'same-site'),
          nav: nonNavigation,
          origin: fc.option(fc.constant(origin), { nil: undefined }),
          referer: refererFrom(origin),
        }),
        fc.record({
          method: fc.constantFrom('GET', 'HEAD', 'OPTIONS'),
          secFetchSite: fc.constant(undefined),
          nav: nonNavigation,
          origin: fc.constant(origin),
          referer: refererFrom(origin),
        }),
      ),
    );
    fc.assert(
      fc.property(request, ({ nav, ...r }) => {
        const decision = decide({
          ...r,
          secFetchMode: nav.mode,
          secFetchDest: nav.dest,
          authenticated: true,
          strict: false,
        });
        return decision.allowed === false;
      }),
      { numRuns: 3_000 },
    );
  });

  it('requests from the configured origins pass the policy', () => {
    fc.assert(
      fc.property(
        unsafeMethod,
        fc.constantFrom(APP, SIBLING),
        fc.constantFrom('same-origin', 'same-site', undefined),
        fc.boolean(),
        (method, origin, site, strict) =>
          decide({
            method,
            secFetchSite: origin === APP && site === 'same-site' ? 'same-origin' : site,
            origin,
            authenticated: true,
            strict,
          }).allowed,
      ),
      { numRuns: 300 },
    );
  });
});
