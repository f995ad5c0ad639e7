// The Vietnamese texts staff read on the sign-in and password pages, in one place.
export const AUTH_MESSAGES = {
  appName: 'Một cửa — Quản trị',
  loginTitle: 'Đăng nhập',
  username: 'Tên đăng nhập',
  password: 'Mật khẩu',
  loginButton: 'Đăng nhập',
  loginFailed: 'Tên đăng nhập hoặc mật khẩu không đúng.',
  rateLimited: (minutes: number) => `Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau ${minutes} phút.`,
  badOrigin: 'Yêu cầu không hợp lệ. Vui lòng tải lại trang đăng nhập.',
  passwordTitle: 'Đổi mật khẩu',
  passwordMustChange: 'Bạn cần đổi mật khẩu tạm thời trước khi tiếp tục.',
  currentPassword: 'Mật khẩu hiện tại',
  newPassword: 'Mật khẩu mới (ít nhất 12 ký tự)',
  confirmPassword: 'Nhập lại mật khẩu mới',
  passwordButton: 'Lưu mật khẩu',
  passwordWrongCurrent: 'Mật khẩu hiện tại không đúng.',
  passwordTooShort: 'Mật khẩu mới phải có ít nhất 12 ký tự.',
  passwordMismatch: 'Hai lần nhập mật khẩu mới không khớp.',
  passwordSame: 'Mật khẩu mới phải khác mật khẩu hiện tại.',
  logout: 'Đăng xuất',
  errorTitle: 'Không thực hiện được',
  backHome: 'Về trang chủ quản trị',
  unauthenticated: 'Vui lòng đăng nhập.',
  forbidden: 'Bạn không có quyền thực hiện thao tác này.',
  csrfInvalid: 'Phiên làm việc không hợp lệ hoặc đã hết hạn. Vui lòng tải lại trang.',
  mustChangePassword: 'Bạn cần đổi mật khẩu trước khi tiếp tục.',
  tooManyAttempts: 'Quá nhiều lần đăng nhập sai. Vui lòng thử lại sau.',
} as const;

/** Error codes of the auth module (to be merged into src/errors.ts by the lead). */
export const AUTH_ERRORS = {
  UNAUTHENTICATED: { status: 401, message: AUTH_MESSAGES.unauthenticated },
  FORBIDDEN: { status: 403, message: AUTH_MESSAGES.forbidden },
  CSRF_INVALID: { status: 403, message: AUTH_MESSAGES.csrfInvalid },
  PASSWORD_CHANGE_REQUIRED: { status: 403, message: AUTH_MESSAGES.mustChangePassword },
  TOO_MANY_ATTEMPTS: { status: 429, message: AUTH_MESSAGES.tooManyAttempts },
} as const;
export type AuthErrorCode = keyof typeof AUTH_ERRORS;
