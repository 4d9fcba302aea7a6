/**
 * File-system questions asked across the project: does a path exist? A missing file is an answer
 * (false, null); any other error (a permission problem, say) is thrown, never taken for "absent".
 *
 * @module
 */

/** The file's information, or null when nothing is at `path`. */
export function statOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.statSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** Whether something is at `path`. */
export function existsSync(path: string): boolean {
  return statOrNull(path) !== null;
}

/** Whether something is at `path`, asynchronously. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
