// The status page at '/': plain server-rendered HTML for the people who run the service (budget
// left, requests by state, the latest releases with their certificates). No script, no build.
import type { DeletionService } from './service.js';

const html = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const num = (x: number) => (Number.isFinite(x) ? x.toPrecision(4) : String(x));

export async function renderStatusPage(service: DeletionService): Promise<string> {
  const budget = service.budgetState();
  const counts = await service.counts();
  const releases = await service.releases(10);
  const left = Math.max(0, budget.limit.epsilon - budget.spent.epsilon);
  const rows = releases
    .map(
      (
        r,
      ) => `<tr><td>${r.id}</td><td>${html(r.committedAt)}</td><td>${r.requests}</td><td>${r.samples}</td>
<td>${num(r.epsilon)}</td><td>${num(r.delta)}</td><td>${num(r.sigma)}</td><td><code>${html(r.weightsSha256.slice(0, 16))}</code></td>
<td><details><summary>certificate</summary><pre>${html(JSON.stringify(r.certificate, null, 2))}</pre></details></td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Lethe deletion service</title>
<link rel="icon" href="data:,">
<style>
body { font: 15px/1.4 system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; }
.held { background: #fee; border: 1px solid #c00; padding: 0.5rem; }
pre { max-width: 60rem; overflow: auto; font-size: 12px; }
</style>
</head>
<body>
<h1>Lethe deletion service</h1>
<p>Model <strong>${html(service.served.name)}</strong>, ${service.served.data.n} training samples, d = ${service.served.model.d}; release policy <strong>${html(service.policy.kind === 'online' ? 'online (after every request)' : `window (${service.policy.requests} requests or ${service.policy.seconds} s)`)}</strong>.</p>
${budget.retrainDue ? `<p class="held" id="held"><strong>Requests are held: retraining or repair is due.</strong> ${html(budget.reason ?? '')}</p>` : ''}
<h2>Privacy budget</h2>
<table id="budget">
<tr><th>limit</th><td>epsilon ${num(budget.limit.epsilon)}, delta ${num(budget.limit.delta)}</td></tr>
<tr><th>spent</th><td>epsilon ${num(budget.spent.epsilon)}, delta ${num(budget.spent.delta)} over ${budget.releases} release(s)</td></tr>
<tr><th>left</th><td>epsilon ${num(left)}</td></tr>
</table>
<h2>Requests</h2>
<table id="requests">
<tr>${Object.keys(counts)
    .map((k) => `<th>${k}</th>`)
    .join('')}</tr>
<tr>${Object.values(counts)
    .map((v) => `<td>${v}</td>`)
    .join('')}</tr>
</table>
<h2>Latest releases</h2>
<table id="releases">
<tr><th>release</th><th>committed</th><th>requests</th><th>samples</th><th>epsilon</th><th>delta</th><th>sigma</th><th>weights sha256</th><th></th></tr>
${rows || '<tr><td colspan="9">no release yet</td></tr>'}
</table>
<p><a href="/openapi.json">OpenAPI</a> · <a href="/metrics">metrics</a> · <a href="/health">health</a></p>
</body>
</html>
`;
}
