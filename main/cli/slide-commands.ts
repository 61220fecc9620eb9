/**
 * Slide-engine commands over main/formats (the same openSlide/readTile the tile service
 * uses): `info` prints the descriptor, `tile` writes one stored tile. `region` and `pin`
 * (main/tiles) register here in the same way.
 */
import { writeFile } from 'node:fs/promises';
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '../common/errors.js';
import { openSlide, readTile, type OpenOptions } from '../formats/open.js';
import { parseS3Uri } from '../sources/s3.js';
import { sourceKind } from '../sources/resolve.js';
import type { RangeReader } from '../sources/types.js';
import { flagString, usageError, type ParsedArgs } from './args.js';
import { registerCommand } from './commands.js';
import type { CliContext } from './context.js';

/** Other .dcm objects next to a DICOM file: a series is often one file per level. */
async function siblingsOf(ctx: CliContext, uri: string): Promise<OpenOptions['siblings']> {
  if (!/\.dcm$/i.test(uri)) return undefined;
  return async (): Promise<RangeReader[]> => {
    const kind = sourceKind(uri);
    if (kind === 's3') {
      const { bucket, key } = parseS3Uri(uri);
      const folder = key.slice(0, key.lastIndexOf('/') + 1);
      const listing = await (await ctx.s3()).list(`s3://${bucket}/${folder}`);
      const others = listing.entries.filter((e) => e.kind === 'file' && /\.dcm$/i.test(e.name) && e.uri !== uri);
      return Promise.all(others.map((e) => ctx.reader(e.uri)));
    }
    if (kind === 'file') {
      const path = /^file:/i.test(uri) ? fileURLToPath(uri) : uri;
      const names = (await readdir(dirname(path))).filter((n) => /\.dcm$/i.test(n) && join(dirname(path), n) !== path);
      return Promise.all(names.map((n) => ctx.reader(join(dirname(path), n))));
    }
    return [];
  };
}

async function open(ctx: CliContext, args: ParsedArgs): Promise<{ reader: RangeReader; slide: Awaited<ReturnType<typeof openSlide>> }> {
  const uri = args.positionals[0];
  if (!uri) throw usageError('Give the slide: a local path, s3://bucket/key or https://….');
  const reader = await ctx.reader(uri);
  const siblings = await siblingsOf(ctx, uri);
  const slide = await openSlide(reader, siblings ? { siblings } : {});
  return { reader, slide };
}

function wholeNumber(value: string | undefined, name: string): number {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n) || n < 0) throw usageError(`${name} must be a whole number, not "${value ?? ''}".`);
  return n;
}

registerCommand({
  name: 'info',
  summary: 'Print a slide\'s descriptor (levels, tile grid, microns per pixel, associated images) as JSON.',
  usage: 'info <path | s3://bucket/key | https://…>',
  flags: {},
  async run(ctx, args) {
    const { reader, slide } = await open(ctx, args);
    try {
      ctx.io.out(JSON.stringify(slide.descriptor, null, 2) + '\n');
    } finally {
      await slide.close();
      await reader.close();
    }
    return 0;
  },
});

registerCommand({
  name: 'tile',
  summary: 'Write one tile as stored (JPEG passed through with its tables; other codings as the engine gives them).',
  usage: 'tile <uri> <level> <col> <row> -o FILE [--plane N]',
  flags: {
    output: { value: true, short: 'o', description: 'file to write the tile to' },
    plane: { value: true, description: 'channel plane for fluorescence slides (default 0)' },
  },
  async run(ctx, args) {
    if (args.positionals.length !== 4) throw usageError('tile takes <uri> <level> <col> <row>.');
    const [, l, c, r] = args.positionals;
    const level = wholeNumber(l, 'level');
    const col = wholeNumber(c, 'col');
    const row = wholeNumber(r, 'row');
    const plane = flagString(args, 'plane') === undefined ? 0 : wholeNumber(flagString(args, 'plane'), 'plane');
    const output = flagString(args, 'output');
    if (!output) throw usageError('Say where to write the tile with -o FILE.');
    const { reader, slide } = await open(ctx, args);
    try {
      const levels = slide.descriptor.levels.length;
      if (level >= levels) throw new AppError('TILE_OUT_OF_RANGE', `The slide has ${levels} levels (0–${levels - 1}); there is no level ${level}.`);
      const tile = await readTile(slide, reader, level, col, row, plane);
      if (!tile) throw new AppError('TILE_EMPTY', `Tile ${col},${row} of level ${level} holds no image data (an empty or sparse tile).`);
      await writeFile(output, tile.bytes);
      ctx.io.err(`Wrote ${tile.bytes.length} bytes (${tile.mime}, ${tile.width}×${tile.height}) to ${output}.\n`);
    } finally {
      await slide.close();
      await reader.close();
    }
    return 0;
  },
});
