/**
 * Slide-engine commands over main/formats and main/tiles (the same openSlide / readTile /
 * TileService / readRegion / PinManager the app uses): `info` prints the descriptor,
 * `tile` writes one stored tile, `region` a PNG of an area, `pin` downloads a slide into
 * the app's tile cache for offline use.
 */
import { writeFile } from 'node:fs/promises';
import type { TileCache } from '../cache/tile-cache.js';
import { createTileEngine } from '../app/compose.js';
import { fromSerialized } from '../common/errors.js';
import { openSlide, readTile } from '../formats/open.js';
import type { EncodedTile } from '../formats/types.js';
import { sourceKind } from '../sources/resolve.js';
import type { RangeReader } from '../sources/types.js';
import { PinManager, type PinProgress } from '../tiles/pinning.js';
import { encodePng, readRegion } from '../tiles/region.js';
import type { TileService } from '../tiles/service.js';
import { flagString, usageError, type ParsedArgs } from './args.js';
import { registerCommand } from './commands.js';
import type { CliContext } from './context.js';
import { tileErrors } from '../tiles/errors.js';

async function open(ctx: CliContext, args: ParsedArgs): Promise<{ reader: RangeReader; slide: Awaited<ReturnType<typeof openSlide>> }> {
  const uri = args.positionals[0];
  if (!uri) throw usageError('Give the slide: a local path, s3://bucket/key or https://….');
  const reader = await ctx.reader(uri);
  const siblings = ctx.sources.siblings(uri);
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
    const uri = args.positionals[0];
    if (uri && sourceKind(uri) === 'dicomweb') {
      // A series is frames, not one file: the tile service opens it (and caches its descriptor).
      const { service } = await tileService(ctx);
      ctx.io.out(JSON.stringify((await service.open(uri)).descriptor, null, 2) + '\n');
      return 0;
    }
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
    const tile = sourceKind(args.positionals[0]!) === 'dicomweb' ? await dicomwebTile(ctx, args.positionals[0]!, level, col, row, plane) : await fileTile(ctx, args, level, col, row, plane);
    if (!tile) throw tileErrors.make('TILE_EMPTY', `Tile ${col},${row} of level ${level} holds no image data (an empty or sparse tile).`);
    await writeFile(output, tile.bytes);
    ctx.io.err(`Wrote ${tile.bytes.length} bytes (${tile.mime}, ${tile.width}×${tile.height}) to ${output}.\n`);
    return 0;
  },
});

/** A tile of a file or object: the slide is parsed here, no cache involved (the tile as stored). */
async function fileTile(ctx: CliContext, args: ParsedArgs, level: number, col: number, row: number, plane: number): Promise<EncodedTile | null> {
  const { reader, slide } = await open(ctx, args);
  try {
    const levels = slide.descriptor.levels.length;
    if (level >= levels) throw tileErrors.make('TILE_OUT_OF_RANGE', `The slide has ${levels} levels (0–${levels - 1}); there is no level ${level}.`);
    return await readTile(slide, reader, level, col, row, plane);
  } finally {
    await slide.close();
    await reader.close();
  }
}

/** A tile of a DICOMweb series: frames, read through the tile service (and its cache). */
async function dicomwebTile(ctx: CliContext, uri: string, level: number, col: number, row: number, plane: number): Promise<EncodedTile | null> {
  const { service } = await tileService(ctx);
  return service.getTile(await service.open(uri), level, col, row, plane);
}

/** The tile service over the app's own cache folder, so `pin` makes slides available offline to the app too. */
async function tileService(ctx: CliContext): Promise<{ service: TileService; cache: TileCache }> {
  const { cache, tiles } = createTileEngine(ctx.settings, ctx.sources);
  ctx.onDispose(() => cache.close());
  ctx.onDispose(() => tiles.close());
  return { service: tiles, cache };
}

function intFlag(args: ParsedArgs, name: string, required: boolean): number | undefined {
  const v = flagString(args, name);
  if (v === undefined) {
    if (required) throw usageError(`region needs --${name}.`);
    return undefined;
  }
  return wholeNumber(v, `--${name}`);
}

registerCommand({
  name: 'region',
  summary: "Write a region of one level as PNG (RGB; fluorescence channels composited), coordinates in that level's pixels.",
  usage: 'region <uri> --level L --x X --y Y --width W --height H -o FILE.png',
  flags: {
    level: { value: true, description: 'pyramid level (0 = full resolution)' },
    x: { value: true, description: 'left edge, in the level\'s pixels' },
    y: { value: true, description: 'top edge, in the level\'s pixels' },
    width: { value: true, description: 'width in pixels' },
    height: { value: true, description: 'height in pixels' },
    output: { value: true, short: 'o', description: 'PNG file to write' },
  },
  async run(ctx, args) {
    const uri = args.positionals[0];
    if (!uri || args.positionals.length !== 1) throw usageError('region takes one slide address.');
    const [level, x, y, width, height] = ['level', 'x', 'y', 'width', 'height'].map((n) => intFlag(args, n, true)!) as [number, number, number, number, number];
    const output = flagString(args, 'output');
    if (!output) throw usageError('Say where to write the PNG with -o FILE.png.');
    const { service } = await tileService(ctx);
    const handle = await service.open(uri);
    const image = await readRegion(service, handle, { level, x, y, width, height });
    await writeFile(output, await encodePng(image));
    ctx.io.err(`Wrote ${image.width}×${image.height} px of level ${level} to ${output}.\n`);
    return 0;
  },
});

function bar(p: PinProgress): string {
  const width = 30;
  const frac = p.total > 0 ? p.done / p.total : 0;
  const filled = Math.round(frac * width);
  return `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}%  ${p.done}/${p.total} tiles  ${(p.bytes / 1e6).toFixed(1)} MB`;
}

registerCommand({
  name: 'pin',
  summary: 'Make a slide available offline: download its tiles into the cache, with a progress bar (Ctrl-C pauses; run again to resume).',
  usage: 'pin <uri> [--min-downsample N]',
  flags: {
    'min-downsample': { value: true, description: 'keep only levels at least this much smaller than full resolution (default: all levels)' },
  },
  async run(ctx, args) {
    const uri = args.positionals[0];
    if (!uri || args.positionals.length !== 1) throw usageError('pin takes one slide address.');
    const min = flagString(args, 'min-downsample');
    const spec = min === undefined ? {} : { minDownsample: Number(min) };
    if (min !== undefined && !(Number(min) >= 1)) throw usageError('--min-downsample must be a number of at least 1.');
    const { service } = await tileService(ctx);
    const pins = new PinManager(service);
    ctx.onDispose(() => pins.close());
    const job = pins.pin(uri, spec);
    const tty = process.stderr.isTTY === true;
    let lastLine = 0;
    job.on('progress', (p: PinProgress) => {
      // On a terminal, a bar redrawn in place; in a log or pipe, a line every 10 %.
      if (tty) ctx.io.err(bar(p));
      else if (p.total > 0 && Math.floor((p.done / p.total) * 10) > lastLine) {
        lastLine = Math.floor((p.done / p.total) * 10);
        ctx.io.err(`${bar(p).slice(1)}\n`);
      }
    });
    job.on('error', () => undefined); // reported from the final state below
    const interrupted = new Promise<'interrupted'>((resolve) => process.once('SIGINT', () => resolve('interrupted')));
    const outcome = await Promise.race([job.settled().then(() => 'settled' as const), interrupted]);
    if (outcome === 'interrupted') {
      await job.pause();
      ctx.io.err(`\nPaused at ${job.progress().done}/${job.progress().total} tiles; run the same command again to resume.\n`);
      return 130;
    }
    const p = job.progress();
    if (tty) ctx.io.err('\n');
    if (p.state === 'error') throw p.error ? fromSerialized({ ...p.error, hint: 'Run the same command again to resume; tiles already downloaded are kept.' }) : tileErrors.make('PIN_FAILED');
    ctx.io.err(`Available offline: ${p.done}/${p.total} tiles, ${(p.bytes / 1e6).toFixed(1)} MB downloaded now.\n`);
    return 0;
  },
});
