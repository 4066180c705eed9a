/**
 * What the xslt3 compiler said about a stylesheet it could not compile: the XSLT error code and,
 * when it gave them, the line and column (1-based) and module.
 */
export interface CompileDiagnostic {
  readonly xsltCode: string;
  readonly message: string;
  readonly line?: number;
  readonly column?: number;
  readonly module?: string;
}

const HEADER = /^Error (?:at [^\n]*? )?([A-Za-z][\w:{}./-]*?):?\s*$/m;
const XPATH_LOCATION = /on line (\d+)(?: column (\d+))? (?:of|in) ([^\s{:]+)/;
// The XML parser counts lines and columns from 0.
const XML_LOCATION = /Failed parsing XML in ([^\s:]+(?::[^\s:]+)?): .*? at line (\d+) column (\d+)/;

export function parseCompilerOutput(output: string): CompileDiagnostic {
  const text = output.replace(/\(node:\d+\) ExperimentalWarning[^\n]*\n(?:\(Use[^\n]*\n)?/g, '').trim();
  const header = HEADER.exec(text);
  const xsltCode = header?.[1] ?? 'XTSE0000';
  const body = header ? text.slice(header.index + header[0].length) : text;
  const message =
    body
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && line !== 'Failed to compile stylesheet')
      .join(' ') || text;
  const xml = XML_LOCATION.exec(message);
  if (xml) {
    return { xsltCode, message, module: xml[1] as string, line: Number(xml[2]) + 1, column: Number(xml[3]) + 1 };
  }
  const xpath = XPATH_LOCATION.exec(message);
  if (xpath) {
    return {
      xsltCode,
      message,
      line: Number(xpath[1]),
      ...(xpath[2] === undefined ? {} : { column: Number(xpath[2]) }),
      module: xpath[3] as string,
    };
  }
  return { xsltCode, message };
}
