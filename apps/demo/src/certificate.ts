import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface Certificate {
  key: string;
  cert: string;
  /** True when it was made now rather than reused. */
  created: boolean;
  path: string;
}

/**
 * The demo's self-signed certificate for localhost / 127.0.0.1 / ::1, as the tutorial's
 * `-SelfSignedCert`. Made on first start and kept in `dir` for reuse; made again when it is
 * missing, unreadable or within a day of expiring.
 */
export async function readOrCreateCertificate(dir: string, host: string): Promise<Certificate> {
  const keyPath = join(dir, 'demo-key.pem');
  const certPath = join(dir, 'demo-cert.pem');
  try {
    const [key, cert] = await Promise.all([readFile(keyPath, 'utf8'), readFile(certPath, 'utf8')]);
    const x509 = new X509Certificate(cert);
    const coversHost = x509.checkHost(host) !== undefined || x509.checkIP(host) !== undefined;
    if (new Date(x509.validTo).getTime() - Date.now() > 24 * 3600 * 1000 && coversHost) {
      return { key, cert, created: false, path: certPath };
    }
  } catch {
    // Missing or unreadable: make a new one.
  }
  const altNames: { type: 2 | 7; value?: string; ip?: string }[] = [
    { type: 2, value: 'localhost' },
    { type: 7, ip: '127.0.0.1' },
    { type: 7, ip: '::1' },
  ];
  if (!['localhost', '127.0.0.1', '::1'].includes(host)) {
    altNames.push(/^[\d.]+$|:/.test(host) ? { type: 7, ip: host } : { type: 2, value: host });
  }
  const pems = await generate([{ name: 'commonName', value: host }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 365 * 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
  await mkdir(dir, { recursive: true });
  await writeFile(keyPath, pems.private, { mode: 0o600 });
  await writeFile(certPath, pems.cert);
  return { key: pems.private, cert: pems.cert, created: true, path: certPath };
}
