/**
 * Which callback URLs Ringcast will POST to (status push, agent-ringing push). A tenant sets the URL, so
 * it must not become a way into the service's own network (SSRF): only http and https, no credentials in
 * the URL, and — unless the operator allows private targets (CALLBACK_ALLOW_PRIVATE=1) — only public
 * unicast addresses. Checked where a URL is set (by name here; a literal address fully) and again at
 * send time on the address the name resolves to (src/engine/callback-http.ts).
 */
import ipaddr from 'ipaddr.js';

export interface CallbackPolicy {
  allowPrivate: boolean;
}

/** Why the address may not be called, or null when it may. Any non-public range is refused. */
export function addressRefusal(address: string, policy: CallbackPolicy): string | null {
  if (!ipaddr.isValid(address)) return `'${address}' is not an IP address`;
  if (policy.allowPrivate) return null;
  // process() turns IPv4-mapped IPv6 (::ffff:127.0.0.1) into the IPv4 address it carries.
  const range = ipaddr.process(address).range();
  return range === 'unicast' ? null : `${address} is a ${range} address, not a public one`;
}

/** Parses and checks a callback URL; returns the URL or the reason it is refused. */
export function checkCallbackUrl(raw: string, policy: CallbackPolicy): URL | string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http or https URL';
  if (url.username || url.password) return 'must not carry a user name or password';
  if (raw.length > 2000) return 'must be at most 2000 characters';
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (ipaddr.isValid(host)) {
    const refusal = addressRefusal(host, policy);
    return refusal ? `must not point at ${refusal}` : url;
  }
  if (!policy.allowPrivate && (host === 'localhost' || host.endsWith('.localhost')))
    return 'must not point at localhost';
  if (!/^[a-z0-9.-]+$/i.test(host) || host.length > 253) return 'has an invalid host name';
  return url;
}
