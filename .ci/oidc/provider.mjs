// A real OpenID Provider on loopback for the single sign-on tests: the certified
// `oidc-provider` package with one confidential client, PKCE required, and people
// read from a JSON file at every sign-in (so a test can move someone out of a group
// between two sign-ins). tests/oidc_provider.py starts it and stops it.
//
// Environment:
//   ACCOUNTS_FILE   {"<login>": {"password": "...", "claims": {email, name, groups, ...}}}
//   CLIENT_ID, CLIENT_SECRET, REDIRECT_URIS (comma-separated)
//   ISSUER_HOST     the host the issuer names (default 127.0.0.1): "localhost" makes the
//                   discovery document name another issuer than the one asked for
// Prints "listening <port> <issuer>" once it serves.
//
// Test-only switch, POST /test/tamper with body iss|aud|nonce|none: the ID tokens the
// token endpoint answers are re-signed with the provider's own key with that claim
// changed, i.e. a correctly signed token meant for another audience, from another
// issuer, or from another sign-in. The relying party must refuse each.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import * as jose from 'jose';
import Provider from 'oidc-provider';

const accountsFile = process.env.ACCOUNTS_FILE;
const accounts = () => JSON.parse(readFileSync(accountsFile, 'utf8'));

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const signingJwk = { ...(await jose.exportJWK(privateKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
let tamper = 'none';

const server = createServer();
await new Promise((resolve) => { server.listen(0, '127.0.0.1', resolve); });
const { port } = server.address();
const issuer = `http://${process.env.ISSUER_HOST || '127.0.0.1'}:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    redirect_uris: process.env.REDIRECT_URIS.split(','),
    token_endpoint_auth_method: 'client_secret_post',
  }],
  jwks: { keys: [signingJwk] },
  pkce: { required: () => true },
  scopes: ['openid', 'offline_access', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username', 'given_name', 'family_name'],
    groups: ['groups'],
  },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    const person = accounts()[id];
    if (!person) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...person.claims }; } };
  },
  // Loopback without TLS: the provider must not insist on secure cookies.
  cookies: { keys: ['test-only-cookie-key'] },
});
provider.proxy = false;

const page = (body) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test provider</title></head><body>${body}</body></html>`;

function readBody(req) {
  return new Promise((resolve) => {
    let data = '';
    req.on('data', (chunk) => { data += chunk; });
    req.on('end', () => resolve(data));
  });
}

// The sign-in page: a login and a password checked against the accounts file; the
// client is first party, so its requested scopes are granted without a consent page.
async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const action = `/interaction/${details.uid}`;
  if (req.method === 'GET') {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(page(`<h1>Test provider</h1><form method="post" action="${action}">
      <label>Login <input name="login" autofocus></label>
      <label>Password <input name="password" type="password"></label>
      <button type="submit">Sign in</button></form>`));
    return;
  }
  const form = new URLSearchParams(await readBody(req));
  const person = accounts()[form.get('login')];
  if (!person || person.password !== form.get('password')) {
    res.statusCode = 401;
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(page('<p role="alert">Wrong login or password.</p>'));
    return;
  }
  const accountId = form.get('login');
  const grant = new provider.Grant({ accountId, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { login: { accountId }, consent: { grantId } }, {
    mergeWithLastSubmission: false,
  });
}

async function retamper(body) {
  const answer = JSON.parse(body);
  if (!answer.id_token) return body;
  const claims = jose.decodeJwt(answer.id_token);
  if (tamper === 'iss') claims.iss = 'http://127.0.0.1:1/another-issuer';
  if (tamper === 'aud') claims.aud = 'another-client';
  if (tamper === 'nonce') claims.nonce = 'a-nonce-from-another-sign-in';
  answer.id_token = await new jose.SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: signingJwk.kid })
    .sign(privateKey);
  return JSON.stringify(answer);
}

provider.use(async (ctx, next) => {
  await next();
  if (tamper !== 'none' && ctx.path === '/token' && ctx.status === 200) {
    const raw = typeof ctx.body === 'string' ? ctx.body : JSON.stringify(ctx.body);
    ctx.body = await retamper(raw);
    ctx.type = 'application/json';
  }
});

const callback = provider.callback();
server.on('request', async (req, res) => {
  try {
    if (req.url.startsWith('/interaction/')) {
      await interaction(req, res);
    } else if (req.url === '/test/tamper' && req.method === 'POST') {
      tamper = (await readBody(req)).trim();
      res.end(tamper);
    } else {
      callback(req, res);
    }
  } catch (error) {
    res.statusCode = 500;
    res.end(String(error));
  }
});

const stop = () => { server.close(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
console.log(`listening ${port} ${issuer}`);
