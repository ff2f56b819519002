import { SingleBar } from 'cli-progress';

/** A progress bar on a terminal; plain periodic lines when not (CI logs). */
export class FuzzProgress {
  readonly #bar: SingleBar | undefined;
  readonly #budgetMs: number;
  #lastLineMs = 0;

  constructor(budgetMs: number) {
    this.#budgetMs = budgetMs;
    if (process.stdout.isTTY) {
      this.#bar = new SingleBar({
        format: 'fuzz [{bar}] {percentage}% | {elapsed_s}/{budget_s} s | runs {runs} ({rate}/s) | failures {failures} | {what}',
        hideCursor: true,
      });
      this.#bar.start(budgetMs, 0, {
        runs: 0,
        rate: '0.0',
        failures: 0,
        what: '',
        elapsed_s: '0',
        budget_s: (budgetMs / 1000).toFixed(0),
      });
    }
  }

  update(elapsedMs: number, runs: number, failures: number, what: string): void {
    const rate = elapsedMs > 0 ? ((runs / elapsedMs) * 1000).toFixed(1) : '0.0';
    if (this.#bar) {
      this.#bar.update(Math.min(elapsedMs, this.#budgetMs), {
        runs,
        rate,
        failures,
        what,
        elapsed_s: (elapsedMs / 1000).toFixed(0),
        budget_s: (this.#budgetMs / 1000).toFixed(0),
      });
    } else if (elapsedMs - this.#lastLineMs >= 10_000 || elapsedMs >= this.#budgetMs) {
      this.#lastLineMs = elapsedMs;
      console.log(
        `fuzz ${(elapsedMs / 1000).toFixed(0)}/${(this.#budgetMs / 1000).toFixed(0)} s: ${runs} runs (${rate}/s), ${failures} failure(s)`,
      );
    }
  }

  log(text: string): void {
    if (this.#bar) this.#bar.stop();
    console.log(text);
  }

  /** Stops the bar and gives the terminal back as it was (cursor shown, line wrap on); safe to call twice. */
  stop(): void {
    if (!this.#bar) return;
    this.#bar.stop();
    // The bar hid the cursor and turned line wrap off; say both again in case it was cut short.
    process.stdout.write('\x1b[?25h\x1b[?7h');
  }
}
