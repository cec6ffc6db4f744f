/** @fogline/shared/tls: serving with a certificate (and reloading it), trusting a CA, dev certificates. */
export { type DevCertificates, defaultDevHosts, makeDevCertificates } from './dev-certs.ts';
export { readCa, readServerTls, ServerTls, type TlsFiles } from './server-tls.ts';
