// The one error catalogue: every Matrix error this service answers, with its status and errcode.
// Services throw these; the single error handler in http/errors.ts turns them into responses.

export class MatrixError extends Error {
  constructor(
    readonly status: number,
    readonly errcode: string,
    message: string,
    /** Extra top-level fields of the error body (e.g. retry_after_ms, soft_logout). */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'MatrixError';
  }

  body(): Record<string, unknown> {
    return { errcode: this.errcode, error: this.message, ...this.extra };
  }
}

export const errors = {
  // Request format (cs-api-standards: common error codes).
  notJson: (detail = 'Content not JSON.') => new MatrixError(400, 'M_NOT_JSON', detail),
  badJson: (detail: string) => new MatrixError(400, 'M_BAD_JSON', detail),
  missingParam: (name: string) => new MatrixError(400, 'M_MISSING_PARAM', `Missing parameter: ${name}`),
  invalidParam: (detail: string) => new MatrixError(400, 'M_INVALID_PARAM', detail),
  tooLarge: () => new MatrixError(413, 'M_TOO_LARGE', 'Request body too large.'),
  uriTooLong: () => new MatrixError(414, 'M_TOO_LARGE', 'Request URI too long.'),
  headersTooLarge: () => new MatrixError(431, 'M_TOO_LARGE', 'Request headers too large.'),
  // HTTP that Node's parser refuses (bad request line, header or framing) never reaches a route.
  malformedHttp: () => new MatrixError(400, 'M_UNKNOWN', 'Malformed HTTP request.'),
  requestTimeout: () => new MatrixError(408, 'M_UNKNOWN', 'Request timed out.'),
  expectationFailed: () => new MatrixError(417, 'M_UNKNOWN', 'Unsupported Expect header.'),
  unrecognized: () => new MatrixError(404, 'M_UNRECOGNIZED', 'Unrecognized request.'),
  methodNotAllowed: () => new MatrixError(405, 'M_UNRECOGNIZED', 'Method not allowed for this endpoint.'),
  notFound: (detail = 'Not found.') => new MatrixError(404, 'M_NOT_FOUND', detail),
  unknown: () => new MatrixError(500, 'M_UNKNOWN', 'Internal server error.'),
  unavailable: () => new MatrixError(503, 'M_UNKNOWN', 'Service temporarily unavailable; try again shortly.'),
  limitExceeded: (retryAfterMs: number) =>
    new MatrixError(429, 'M_LIMIT_EXCEEDED', 'Too many requests; slow down.', {
      retry_after_ms: Math.max(0, Math.ceil(retryAfterMs)),
    }),

  // Authorisation.
  forbidden: (detail: string) => new MatrixError(403, 'M_FORBIDDEN', detail),
  missingToken: () => new MatrixError(401, 'M_MISSING_TOKEN', 'Missing access token.'),
  unknownToken: (detail = 'Unknown access token.', softLogout = false) =>
    new MatrixError(401, 'M_UNKNOWN_TOKEN', detail, softLogout ? { soft_logout: true } : {}),
  /** An access token past its lifetime: the client may refresh it or log in again on the same device. */
  expiredToken: () => new MatrixError(401, 'M_UNKNOWN_TOKEN', 'Access token has expired.', { soft_logout: true }),
  guestAccessForbidden: () => new MatrixError(403, 'M_GUEST_ACCESS_FORBIDDEN', 'Guest access is not allowed here.'),
  introspectionDisabled: () =>
    new MatrixError(403, 'M_FORBIDDEN', 'Token introspection is disabled: set INTROSPECTION_SECRET to enable it.'),

  // Login. One message for a wrong password, an unknown user and a deactivated account, so the
  // answer does not tell them apart.
  loginFailed: () => new MatrixError(403, 'M_FORBIDDEN', 'Invalid username or password.'),
  unknownLoginType: () => new MatrixError(400, 'M_UNKNOWN', 'Bad login type.'),
  unknownIdentifierType: () => new MatrixError(400, 'M_UNKNOWN', 'Unsupported login identifier type.'),
  unknownRefreshToken: () => new MatrixError(401, 'M_UNKNOWN_TOKEN', 'Unknown refresh token.'),

  // Registration.
  registrationDisabled: () => new MatrixError(403, 'M_FORBIDDEN', 'Registration is disabled on this homeserver.'),
  guestAccessDisabled: () => new MatrixError(403, 'M_FORBIDDEN', 'Guest access is disabled on this homeserver.'),
  userInUse: () => new MatrixError(400, 'M_USER_IN_USE', 'Desired user ID is already taken.'),
  invalidUsername: (detail: string) => new MatrixError(400, 'M_INVALID_USERNAME', detail),
  weakPassword: (detail: string) => new MatrixError(400, 'M_WEAK_PASSWORD', detail),
  userAwaitingApproval: () =>
    new MatrixError(403, 'M_USER_AWAITING_APPROVAL', 'This account is awaiting approval by the server administrators.'),
  registrationBanned: () =>
    new MatrixError(403, 'M_FORBIDDEN', 'Registration is not allowed from your network or client.'),
  registrationCapReached: (period: 'hour' | 'day', retryAfterMs: number) =>
    new MatrixError(
      403,
      'M_FORBIDDEN',
      `This homeserver has reached its limit of new accounts for this ${period}; try again in ${Math.ceil(retryAfterMs / 60_000)} minutes.`,
    ),
  registrationCapWait: (period: 'hour' | 'day', retryAfterMs: number) =>
    new MatrixError(429, 'M_LIMIT_EXCEEDED', `This homeserver has reached its limit of new accounts for this ${period}; try again shortly.`, {
      retry_after_ms: Math.max(0, Math.ceil(retryAfterMs)),
    }),
  threepidDomainDenied: (detail: string) => new MatrixError(403, 'M_THREEPID_DENIED', detail),
  operationChanged: () =>
    new MatrixError(
      403,
      'M_FORBIDDEN',
      'Requested operation has changed during the UI authentication session; start a new session.',
    ),
  sessionSpent: () =>
    new MatrixError(
      403,
      'M_FORBIDDEN',
      'This authentication session has already been used to complete its request; start a new session or log in.',
    ),

  // Third-party identifiers (email addresses and phone numbers).
  invalidClientSecret: () =>
    new MatrixError(400, 'M_INVALID_PARAM', 'client_secret must be 1-255 characters of [0-9a-zA-Z.=_-].'),
  invalidEmail: () => new MatrixError(400, 'M_INVALID_PARAM', 'Unable to parse email address.'),
  invalidPhoneNumber: () =>
    new MatrixError(400, 'M_INVALID_PARAM', 'Unable to parse phone number: give a valid number and its two-letter country code.'),
  nextLinkNotAllowed: () =>
    new MatrixError(400, 'M_INVALID_PARAM', 'next_link must be an http(s) URL on a host this server allows.'),
  threepidMediumNotSupported: (medium: string) =>
    new MatrixError(400, 'M_THREEPID_MEDIUM_NOT_SUPPORTED', `This server does not validate ${medium === 'email' ? 'email addresses' : 'phone numbers'}.`),
  threepidInUse: () => new MatrixError(400, 'M_THREEPID_IN_USE', 'This third-party identifier is already in use on this server.'),
  threepidNotFound: () =>
    new MatrixError(400, 'M_THREEPID_NOT_FOUND', 'No account on this server has this third-party identifier.'),
  threepidDenied: () => new MatrixError(403, 'M_THREEPID_DENIED', 'Third-party identifier is not allowed on this server.'),
  /** A wrong, expired or unknown validation code (one answer for all, so nothing is revealed). */
  threepidAuthFailed: () =>
    new MatrixError(400, 'M_THREEPID_AUTH_FAILED', 'The validation code is wrong or has expired, or the session is unknown.'),
  threepidNotValidated: () =>
    new MatrixError(401, 'M_UNAUTHORIZED', 'This third-party identifier has not been validated in this session (or the validation has expired or been used).'),

  // UIA stage failures: carried inside a 401 UIA body, not thrown as the response itself.
  stageForbidden: (detail: string) => new MatrixError(401, 'M_FORBIDDEN', detail),
  stageWrongPassword: () => new MatrixError(401, 'M_FORBIDDEN', 'Invalid password.'),
  stageWrongUser: () => new MatrixError(401, 'M_FORBIDDEN', 'You can only authenticate as the user making this request.'),
  stageUnauthorized: (detail: string) => new MatrixError(401, 'M_UNAUTHORIZED', detail),
  exclusive: (detail = 'This user ID is reserved by an application service.') =>
    new MatrixError(400, 'M_EXCLUSIVE', detail),
  appserviceLoginUnsupported: () =>
    new MatrixError(
      400,
      'M_APPSERVICE_LOGIN_UNSUPPORTED',
      'Application services cannot log in as their users here; set inhibit_login to true.',
    ),

  // Shared-secret registration (Synapse's /_synapse/admin/v1/register: same statuses and texts).
  sharedSecretDisabled: () => new MatrixError(400, 'M_UNKNOWN', 'Shared secret registration is not enabled'),
  unrecognisedNonce: () => new MatrixError(400, 'M_UNKNOWN', 'unrecognised nonce'),
  hmacIncorrect: () => new MatrixError(403, 'M_FORBIDDEN', 'HMAC incorrect'),

  invalidRegistrationToken: () =>
    new MatrixError(401, 'M_UNAUTHORIZED', 'Invalid registration token: unknown, expired or used up.'),
  captchaFailed: (detail = 'The captcha was not solved; try again.') => new MatrixError(401, 'M_UNAUTHORIZED', detail),
  /** The captcha verifier could not be asked: the stage neither passes nor fails, the client retries later. */
  captchaUnavailable: () =>
    new MatrixError(503, 'M_UNKNOWN', 'The captcha could not be verified right now (verifier unreachable); try again shortly.'),
} as const;
