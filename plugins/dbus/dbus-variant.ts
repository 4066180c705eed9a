/**
 * A D-Bus variant in our own terms (a signature and its value), so the mapping and the plugin's
 * logic never depend on the D-Bus library's classes; the client converts at the boundary.
 */
export class DbusVariant {
  constructor(
    readonly signature: string,
    readonly value: unknown,
  ) {}
}
