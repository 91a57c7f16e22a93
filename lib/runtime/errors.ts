/**
 * Errors a user can act on, apart from bugs.
 */

/**
 * A refusal, a missing or damaged file, bad input: something the user can fix, with a message that says what
 * is wrong and what to do. A notebook shows only that message: tslab prints a cell's thrown error with
 * console.error, which formats it through this class's inspect hook, so no stack trace appears (users read a
 * red stack trace as "the library is broken"). Bugs stay plain Errors and keep their stack.
 */
export class WorkbookError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "WorkbookError";
  }

  // util.inspect.custom, by its registered name: this module is also bundled into the web page, which has no node:util
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.message;
  }
}
