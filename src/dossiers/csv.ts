// A CSV reader for the exports of one-stop systems (RFC 4180: quoted fields with doubled quotes
// and line breaks inside, CRLF or LF), with the delimiter guessed from the header (comma,
// semicolon — Excel's choice in locales with a decimal comma — or tab) and a UTF-8 BOM dropped.
// Each record keeps the line it starts on, for error messages. Pure.

export interface CsvRecord {
  /** 1-based line of the file where the record starts. */
  line: number;
  fields: string[];
}

export class CsvError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
    this.name = 'CsvError';
  }
}

/** The delimiter the first non-empty line uses most (outside quotes). */
export function guessDelimiter(text: string): ',' | ';' | '\t' {
  const first = text.split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
  const count = (d: string) => first.replace(/"[^"]*"/g, '').split(d).length - 1;
  const tabs = count('\t');
  const semis = count(';');
  const commas = count(',');
  if (tabs > semis && tabs > commas) return '\t';
  return semis > commas ? ';' : ',';
}

/** Parses CSV text; throws CsvError (with the line) on a quote left open. */
export function parseCsv(input: string, delimiter: string = guessDelimiter(input)): CsvRecord[] {
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  let quoted = false;
  let quoteLine = 0;
  let i = 0;
  const endRecord = () => {
    fields.push(field);
    records.push({ line: recordLine, fields });
    fields = [];
    field = '';
  };
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i += 1;
        continue;
      }
      if (c === '\n') line += 1;
      field += c;
      i += 1;
      continue;
    }
    if (c === '"' && field === '') {
      quoted = true;
      quoteLine = line;
      i += 1;
    } else if (c === delimiter) {
      fields.push(field);
      field = '';
      i += 1;
    } else if (c === '\r' || c === '\n') {
      endRecord();
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
      line += 1;
      recordLine = line;
    } else {
      field += c;
      i += 1;
    }
  }
  if (quoted) throw new CsvError(quoteLine, `dấu ngoặc kép mở ở dòng ${quoteLine} không được đóng`);
  if (field !== '' || fields.length > 0) endRecord();
  return records;
}
