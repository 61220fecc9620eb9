/**
 * Slide-engine commands (info, tile, region, pin) register here, over main/formats and
 * main/tiles, in the same command table as the sign-in and storage commands.
 */
export {};
