/**
 * Paths that only exist in a checkout of the repository (scripts run by Python, the worker task,
 * the notebooks). The package itself may be loaded from JSR or any HTTPS URL, where such files are
 * not on disk: features that need them call {@link checkoutPath} when they run, never at module
 * level, so that importing the package works anywhere.
 *
 * @module
 */

/**
 * The local path of `url`, a file of the repository; throws an error naming `feature` when the
 * module was loaded from a non-`file:` URL (JSR, HTTPS), where there is no checkout to run it from.
 *
 * @example
 * ```ts
 * import { checkoutPath } from "./checkout.ts";
 * console.log(checkoutPath(new URL("file:///repo/tasks/worker.ts"), "reproduce")); // /repo/tasks/worker.ts
 * ```
 */
export function checkoutPath(url: URL, feature: string): string {
  if (url.protocol !== "file:") {
    throw new Error(
      `${feature} needs a checkout of the repository: ${url.href} is not a local file ` +
        `(this module was loaded from ${url.protocol}//${url.host}); clone the repository and run it there`,
    );
  }
  return decodeURIComponent(url.pathname);
}
