// The one registry of coded errors: each code has its HTTP status and, where a person sees it,
// a Vietnamese message. Responses never carry stack traces or secrets.

import { AUTH_ERRORS } from './admin/auth/messages.js';

export const ERROR_CODES = {
  ...AUTH_ERRORS,
  CONFIG_INVALID: { status: 500, message: 'Cấu hình máy chủ không hợp lệ.' },
  BAD_REQUEST: { status: 400, message: 'Yêu cầu không hợp lệ.' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'Nội dung gửi lên quá lớn.' },
  NOT_FOUND: { status: 404, message: 'Không tìm thấy trang hoặc dữ liệu yêu cầu.' },
  UNKNOWN_UNIT: { status: 404, message: 'Không tìm thấy đơn vị (xã/phường) này.' },
  CATALOGUE_INVALID: { status: 500, message: 'Dữ liệu thủ tục không hợp lệ.' },
  DATABASE_UNAVAILABLE: { status: 503, message: 'Cơ sở dữ liệu tạm thời không sẵn sàng.' },
  REDIS_UNAVAILABLE: { status: 503, message: 'Dịch vụ hàng đợi tạm thời không sẵn sàng.' },
  IDEMPOTENCY_KEY_REQUIRED: { status: 400, message: 'Thiếu tiêu đề Idempotency-Key.' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, message: 'Idempotency-Key này đã được dùng cho một yêu cầu khác.' },
  GROUP_NAME_TAKEN: { status: 409, message: 'Tên nhóm đã được dùng trong đơn vị.' },
  INTERNAL: { status: 500, message: 'Đã có lỗi xảy ra, vui lòng thử lại sau.' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Vietnamese message safe to show to a person. */
  readonly userMessage: string;

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown }) {
    super(detail ?? ERROR_CODES[code].message, options);
    this.name = 'AppError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.userMessage = ERROR_CODES[code].message;
  }
}

/** The JSON body every error response carries. */
export function errorBody(code: ErrorCode, detail?: string): { error: { code: ErrorCode; message: string; detail?: string } } {
  return { error: { code, message: ERROR_CODES[code].message, ...(detail ? { detail } : {}) } };
}
