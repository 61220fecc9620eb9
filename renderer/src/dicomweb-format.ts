/** DICOM person name (PN) as people read it: "DOE^JOHN^^DR" → "DOE, JOHN DR". */
export function formatPersonName(pn: string): string {
  const [family = '', given = '', middle = '', prefix = '', suffix = ''] = pn.split('^').map((p) => p.trim());
  const rest = [prefix, given, middle, suffix].filter(Boolean).join(' ');
  return family && rest ? `${family}, ${rest}` : family || rest;
}

/** Titles for the archive's errors (main words the message with the archive's name). */
export function archiveErrorTitle(code: string): { title: string; action?: 'sign-in' | 'retry' } | undefined {
  switch (code) {
    case 'DICOMWEB_UNAUTHORIZED':
      return { title: 'Your session with the image archive has expired', action: 'sign-in' };
    case 'DICOMWEB_TOKEN_TOO_OLD':
      return { title: 'The image archive cannot accept your sign-in', action: 'sign-in' };
    case 'DICOMWEB_ACCESS_DENIED':
      return { title: 'The image archive refused access' };
    case 'DICOMWEB_UNREACHABLE':
    case 'DICOMWEB_SERVER_ERROR':
      return { title: 'The image archive cannot be reached', action: 'retry' };
    case 'DICOMWEB_BAD_QUERY':
      return { title: 'This search cannot be run' };
    case 'AUTH_RESOURCE_REFUSED':
    case 'AUTH_RESOURCE_UNAVAILABLE':
      return { title: 'No access to the image archive', action: 'sign-in' };
    default:
      return undefined;
  }
}
