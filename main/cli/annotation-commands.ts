/**
 * `annotations export|import|ls` over the same store and GeoJSON code as the app
 * (main/annotations). `sync` answers what the app answers: not in this version yet.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AnnotationService } from '../annotations/service.js';
import { ANNOTATIONS_FILE, openAnnotationStore } from '../annotations/store.js';
import type { AnnotationAuthor } from '../api/contract.js';
import { flagString, usageError } from './args.js';
import { registerCommand } from './commands.js';
import type { CliContext } from './context.js';

async function signedInAuthor(ctx: CliContext): Promise<AnnotationAuthor | undefined> {
  const auth = await ctx.auth();
  const u = auth.state().status === 'signed-in' ? auth.user() : undefined;
  return u ? { sub: u.sub, name: u.name || u.sub } : undefined;
}

registerCommand({
  name: 'annotations',
  summary: 'List, export or import the annotations of a slide (QuPath GeoJSON).',
  usage: 'annotations ls <uri> | export <uri> -o FILE.geojson | import <uri> FILE.geojson | sync [<uri>]',
  flags: { output: { value: true, short: 'o', description: 'the GeoJSON file to write (export)' } },
  async run(ctx, args) {
    const [sub, uri, file] = args.positionals;
    if (sub === 'sync') {
      const svc = new AnnotationService({ store: openAnnotationStore(':memory:'), author: () => undefined });
      svc.sync(uri ?? '');
      return 0;
    }
    if (!uri) throw usageError('Name the slide: annotations ls|export|import <uri>.');
    const needsAuthor = sub === 'import';
    const author = needsAuthor ? await signedInAuthor(ctx) : undefined;
    const store = openAnnotationStore(join(ctx.settings.paths.data, ANNOTATIONS_FILE));
    try {
      const svc = new AnnotationService({ store, author: () => author });
      switch (sub) {
        case 'ls': {
          const page = svc.list(uri, undefined, undefined, 20_000);
          for (const o of page.objects) ctx.io.out(`${o.id}\t${o.objectType}\t${o.geometry.type}\t${o.classification?.name ?? ''}\t${o.name ?? ''}\n`);
          const c = svc.state(uri).counts;
          ctx.io.err(`${c.annotations} annotations, ${c.detections} detections\n`);
          return 0;
        }
        case 'export': {
          const out = flagString(args, 'output');
          if (!out) throw usageError('Give the file to write: annotations export <uri> -o FILE.geojson.');
          const e = svc.export(uri);
          writeFileSync(out, e.geojson);
          ctx.io.err(`${e.count} objects written to ${out}\n`);
          return 0;
        }
        case 'import': {
          if (!file) throw usageError('Give the file to read: annotations import <uri> FILE.geojson.');
          const r = svc.import(uri, readFileSync(file, 'utf8'));
          ctx.io.err(`${r.imported} objects imported (${r.annotations} annotations, ${r.detections} detections)${r.newClasses.length ? `; new classes: ${r.newClasses.join(', ')}` : ''}\n`);
          return 0;
        }
        default:
          throw usageError(`Unknown annotations command "${sub ?? ''}": use ls, export, import or sync.`);
      }
    } finally {
      store.close();
    }
  },
});
