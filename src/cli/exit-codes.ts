/** Exit codes are part of the CLI's interface: scripts and systemd act on them. */
export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  BAD_CONFIG: 2,
  UNREACHABLE: 3,
  AUTH_REFUSED: 4,
} as const;
