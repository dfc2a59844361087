import { build } from 'esbuild'

/**
 * Bundles `entry` into one ESM file for Node, the way an app ships with esbuild, and returns the paths of
 * the files that went in. The frameworks are CommonJS: inside an ESM bundle their require() of Node
 * built-ins needs a real require, which the banner provides.
 */
export async function bundleApp(entry: string, outfile: string): Promise<string[]> {
  const result = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    metafile: true,
    logLevel: 'silent',
    banner: { js: "import { createRequire as __ddCreateRequire } from 'node:module'; const require = __ddCreateRequire(import.meta.url);" }
  })
  return Object.keys(result.metafile.inputs)
}
