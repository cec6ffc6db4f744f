/**
 * Certificates to try TLS with (`fogline certs dev`): a local CA and a server certificate it signs for
 * the given host names and IP addresses. RSA 2048 keys from node:crypto, certificates built and signed
 * with node-forge (node:crypto cannot sign certificates). Never for production, where certificates
 * come from the operator's CA or ACME.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import forge from 'node-forge';

const DAY_MS = 86_400_000;

export interface DevCertificates {
  /** The CA certificate (PEM): what clients trust (`--tls-ca`, `curl --cacert`, `mosquitto_sub --cafile`). */
  caCert: string;
  /** The CA's private key (PEM): signs more server certificates; keep it private. */
  caKey: string;
  /** The server certificate (PEM) for `--tls-cert`. */
  serverCert: string;
  /** Its private key (PEM) for `--tls-key`. */
  serverKey: string;
  /** Names and addresses the server certificate is valid for. */
  hosts: readonly string[];
}

/** localhost, this machine's name and the loopback addresses. */
export function defaultDevHosts(): string[] {
  return [...new Set(['localhost', hostname(), '127.0.0.1', '::1'])];
}

/** A fresh CA and a server certificate signed by it for `hosts`, valid `days` days (default 825). */
export function makeDevCertificates(
  hosts: readonly string[] = defaultDevHosts(),
  days = 825,
): DevCertificates {
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + days * DAY_MS);
  const caKeys = rsaKeys();
  const caName = [{ name: 'commonName', value: 'fogline dev CA' }];
  const ca = certificate(caKeys.publicKey, caName, notBefore, notAfter);
  ca.setIssuer(caName);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.sign(caKeys.privateKey, forge.md.sha256.create());

  const serverKeys = rsaKeys();
  const server = certificate(
    serverKeys.publicKey,
    [{ name: 'commonName', value: hosts[0] ?? 'localhost' }],
    notBefore,
    notAfter,
  );
  server.setIssuer(ca.subject.attributes);
  server.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      // GeneralName types [RFC 5280 4.2.1.6]: 2 = dNSName, 7 = iPAddress.
      altNames: hosts.map((h) => (isIP(h) ? { type: 7, ip: h } : { type: 2, value: h })),
    },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes() },
  ]);
  server.sign(caKeys.privateKey, forge.md.sha256.create());
  return {
    caCert: pem(ca),
    caKey: caKeys.privateKeyPem,
    serverCert: pem(server),
    serverKey: serverKeys.privateKeyPem,
    hosts: [...hosts],
  };
}

/** PEM with Unix line ends (forge writes CRLF). */
function pem(cert: forge.pki.Certificate): string {
  return forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n');
}

function rsaKeys() {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return {
    publicKey: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()),
    privateKey: forge.pki.privateKeyFromPem(privateKeyPem),
    privateKeyPem,
  };
}

function certificate(
  publicKey: forge.pki.PublicKey,
  subject: forge.pki.CertificateField[],
  notBefore: Date,
  notAfter: Date,
): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  cert.setSubject(subject);
  return cert;
}

/**
 * A certificate serial as node-forge takes it (hex, copied into the DER INTEGER as is): 16 random
 * bytes, positive and minimally encoded ([RFC 5280 4.1.2.2]), so the first byte is 0x01..0x7f.
 * A leading zero byte is "illegal padding" to OpenSSL, which then refuses the whole certificate
 * (curl --cacert, node:tls, mosquitto_sub).
 */
export function randomSerial(bytes: Uint8Array = randomBytes(16)): string {
  const serial = Buffer.from(bytes);
  serial[0] = (serial[0] ?? 0) & 0x7f || 0x01;
  return serial.toString('hex');
}
