// PEM text as the tests read it: a bundle of CAs (a stack's caCertificate), or a keystore (key, its certificate, the CA's).
import { X509Certificate } from "crypto";

/** Every certificate in `pem`, in order: a keystore's own certificate first; a caCertificate's CAs, the old first during a caRotation. */
export const certificatesOf = (pem: string) => (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((c) => new X509Certificate(c));
