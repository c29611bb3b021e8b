// The workflow bundle's inline source map, trimmed. The SDK parses the map in each workflow thread
// (WebAssembly) to map the stack traces of workflow promises; the SDK's and its dependencies' code made 83 %
// of the mappings and 85 % of the source text. Our workflow code keeps every mapping and its source text;
// a dependency's code keeps one mapping per generated line (its frames name file and line, the column is
// approximate) and no source text. docs/performance.md, fourth round.
import { bundleWorkflowCode, type Logger } from '@temporalio/worker';
import { SourceMapConsumer, SourceMapGenerator, type RawSourceMap } from 'source-map';

const INLINE_MAP = '//# sourceMappingURL=data:';
/** webpack writes `application/json;charset=utf-8;base64,`. */
const MEDIA_TYPE = /^application\/json(;charset=utf-8)?;base64,/;

/** A source of the project's own, as opposed to a dependency's. */
const isOwnSource = (source: string): boolean => !source.split(/[\\/]/).includes('node_modules');

export interface SlimmedBundle {
  code: string;
  mappings: { before: number; after: number };
}

/**
 * The workflow bundle as `npm run build` writes it (tools/build-workflow-bundle.ts): webpack's bundle of
 * `workflowsPath`, its source map trimmed, sources relative to `root`. Tests and benchmarks run this, so that
 * they measure what ships. `bundledBytes`: the bundle's size before the trim.
 */
export async function bundleAsBuilt(workflowsPath: string, root: string, logger?: Logger): Promise<SlimmedBundle & { bundledBytes: number }> {
  const bundled = await bundleWorkflowCode({ workflowsPath, ...(logger ? { logger } : {}) });
  return { ...(await slimWorkflowSourceMap(bundled.code, root)), bundledBytes: bundled.code.length };
}

/**
 * Returns the bundle with its inline source map trimmed as above, sources named relative to `root` (the
 * build machine's paths stay out of the image). The code itself is unchanged.
 */
export async function slimWorkflowSourceMap(bundle: string, root: string): Promise<SlimmedBundle> {
  const at = bundle.lastIndexOf(INLINE_MAP);
  const mediaType = at < 0 ? null : MEDIA_TYPE.exec(bundle.slice(at + INLINE_MAP.length));
  if (!mediaType) throw new Error('the workflow bundle has no inline base64 JSON source map (the SDK requires one)');
  const header = `${INLINE_MAP}${mediaType[0]}`;
  const raw = JSON.parse(Buffer.from(bundle.slice(at + header.length).trim(), 'base64').toString('utf8')) as RawSourceMap;
  const prefix = root.endsWith('/') ? root : `${root}/`;
  const rename = (source: string): string => (source.startsWith(prefix) ? source.slice(prefix.length) : source);
  const generator = new SourceMapGenerator({ file: raw.file });
  let before = 0;
  let after = 0;
  await SourceMapConsumer.with(raw, null, (consumer) => {
    let lastLine = 0;
    consumer.eachMapping((m) => {
      before++;
      if (!m.source) return;
      // A dependency's code keeps its first mapping per generated line: its frames still name the file and
      // line (the column is approximate), at a fraction of the mappings.
      const firstOnLine = m.generatedLine !== lastLine;
      lastLine = m.generatedLine;
      if (!isOwnSource(m.source) && !firstOnLine) return;
      after++;
      generator.addMapping({
        generated: { line: m.generatedLine, column: m.generatedColumn },
        original: { line: m.originalLine, column: m.originalColumn },
        source: rename(m.source),
        ...(m.name ? { name: m.name } : {}),
      });
    });
    for (const source of consumer.sources) {
      if (!isOwnSource(source)) continue;
      const content = consumer.sourceContentFor(source, true);
      if (content !== null) generator.setSourceContent(rename(source), content);
    }
  });
  const map = Buffer.from(generator.toString(), 'utf8').toString('base64');
  return { code: `${bundle.slice(0, at)}${header}${map}`, mappings: { before, after } };
}
