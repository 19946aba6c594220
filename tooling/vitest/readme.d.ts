export interface ReadmeRun {
  readonly stdout: string;
  readonly stderr: string;
  readonly status: number | null;
  /** What the README says the example prints. */
  readonly expected: string;
}
export function runReadmeExample(testFileUrl: string): ReadmeRun;
