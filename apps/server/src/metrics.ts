// Prometheus metrics in the text format, on a registry of the service's own (not prom-client's
// global one), so that two services in one process do not mix their numbers.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DeletionService } from './service.js';

export interface Metrics {
  readonly contentType: string;
  observe(route: string, method: string, status: number, ms: number): void;
  render(): Promise<string>;
}

export function createMetrics(service: DeletionService): Metrics {
  const registry = new Registry();
  const http = new Histogram({
    name: 'lethe_http_request_duration_seconds',
    help: 'HTTP request duration by route, method and status',
    labelNames: ['route', 'method', 'status'],
    buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [registry],
  });
  const applications = new Counter({
    name: 'lethe_releases_total',
    help: 'Certified releases published (one per application of requests)',
    registers: [registry],
  });
  service.onApplied(() => applications.inc());
  new Gauge({
    name: 'lethe_requests',
    help: 'Deletion requests by state',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const counts = await service.counts();
      for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'lethe_privacy_spent',
    help: 'Privacy spent by all releases so far, and the budget limit',
    labelNames: ['parameter', 'of'],
    registers: [registry],
    collect() {
      const b = service.budgetState();
      this.set({ parameter: 'epsilon', of: 'spent' }, b.spent.epsilon);
      this.set({ parameter: 'delta', of: 'spent' }, b.spent.delta);
      this.set({ parameter: 'epsilon', of: 'limit' }, b.limit.epsilon);
      this.set({ parameter: 'delta', of: 'limit' }, b.limit.delta);
    },
  });
  new Gauge({
    name: 'lethe_retrain_due',
    help: '1 when the budget cannot certify the next release and requests are held',
    registers: [registry],
    collect() {
      this.set(service.held === undefined ? 0 : 1);
    },
  });
  return {
    contentType: registry.contentType,
    observe(route, method, status, ms) {
      http.observe({ route, method, status: String(status) }, ms / 1000);
    },
    render: () => registry.metrics(),
  };
}
