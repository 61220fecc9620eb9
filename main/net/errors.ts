import { errorTable } from '../common/errors.js';

/** Errors of the network stack shared by every request of main (sign-in, STS, S3, DICOMweb). */
export const NET_ERRORS = errorTable('net', {
  NET_CERT_UNTRUSTED: {
    kind: 'unreachable',
    message: 'The connection was refused because the server’s certificate is not trusted on this computer.',
    hint: 'IT: if a proxy inspects TLS, give its root certificate in the network.caFile setting (or NODE_EXTRA_CA_CERTS).',
    retryable: false,
  },
  NET_CA_FILE_UNREADABLE: {
    kind: 'invalid-input',
    message: 'The certificate file named in network.caFile could not be read.',
    hint: 'IT: check the path in network.caFile; it must be a PEM file readable by the user.',
  },
  NET_PROXY_INVALID: {
    kind: 'invalid-input',
    message: 'The proxy address in HTTPS_PROXY / HTTP_PROXY is not a URL.',
    hint: 'IT: set it as http://proxy.example.org:3128 (with user:password@ if the proxy needs it).',
  },
  NET_PROXY_AUTH: {
    kind: 'denied',
    message: 'The proxy asked for a user name and password that were not accepted.',
    hint: 'IT: put the proxy credentials in HTTPS_PROXY (http://user:password@proxy:3128) or allow the workstation through.',
  },
});
