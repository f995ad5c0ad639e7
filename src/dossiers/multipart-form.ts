// A small reader of multipart/form-data bodies (RFC 7578) already in memory, for the one upload
// form of the admin (a spreadsheet and a few text fields): fields by name, files with their
// name and bytes. Bodies are size-limited before they get here. Pure.

export interface MultipartFile {
  fieldName: string;
  fileName: string;
  data: Buffer;
}

export interface MultipartForm {
  fields: Record<string, string>;
  files: MultipartFile[];
}

/** The boundary of a multipart/form-data content type, or undefined. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/form-data\b/i.test(contentType)) return undefined;
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const b = m?.[1] ?? m?.[2];
  return b && b.length <= 70 ? b : undefined;
}

function headerParam(header: string, name: string): string | undefined {
  const m = new RegExp(`;\\s*${name}\\*?=(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]+))`, 'i').exec(header);
  const v = m?.[1] ?? m?.[2];
  if (v === undefined) return undefined;
  // filename*=UTF-8''… (RFC 5987) or a quoted UTF-8 name as browsers send it.
  const ext = /^UTF-8''(.*)$/i.exec(v);
  if (ext?.[1] !== undefined) {
    try {
      return decodeURIComponent(ext[1]);
    } catch {
      return ext[1];
    }
  }
  return v.replace(/\\(.)/g, '$1');
}

/** Parses a body; undefined when it is not well-formed multipart with this boundary. */
export function parseMultipart(body: Buffer, boundary: string, limits: { fields: number; files: number } = { fields: 20, files: 2 }): MultipartForm | undefined {
  const delimiter = Buffer.from(`--${boundary}`);
  const form: MultipartForm = { fields: {}, files: [] };
  let pos = body.indexOf(delimiter);
  if (pos < 0) return undefined;
  let parts = 0;
  for (;;) {
    pos += delimiter.length;
    // "--" after a delimiter closes the body.
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) return form;
    if (body[pos] === 0x0d && body[pos + 1] === 0x0a) pos += 2;
    else return undefined;
    const headerEnd = body.indexOf('\r\n\r\n', pos);
    if (headerEnd < 0) return undefined;
    const headers = body.subarray(pos, headerEnd).toString('utf8');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headerEnd + 4);
    if (next < 0) return undefined;
    const content = body.subarray(headerEnd + 4, next);
    parts += 1;
    if (parts > limits.fields + limits.files) return undefined;
    const disposition = headers.split('\r\n').find((h) => /^content-disposition:/i.test(h));
    const name = disposition ? headerParam(disposition, 'name') : undefined;
    if (disposition && name !== undefined) {
      const fileName = headerParam(disposition, 'filename');
      if (fileName !== undefined) {
        if (form.files.length >= limits.files) return undefined;
        form.files.push({ fieldName: name, fileName: fileName.normalize('NFC'), data: Buffer.from(content) });
      } else {
        form.fields[name] = content.toString('utf8');
      }
    }
    pos = next + 2;
  }
}
