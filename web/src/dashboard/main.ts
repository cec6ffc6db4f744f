/**
 * The dashboard: sign in with the admin token (posted once; the cloud answers with an HttpOnly
 * session cookie, the token is dropped from the page), then Fleet, Live and Models by URL hash.
 */
import '../style.css';
import { api, Unauthenticated } from './api.ts';
import { FleetView } from './fleet.ts';
import { LiveView } from './live.ts';
import { ModelsView } from './models.ts';

const $ = <T extends HTMLElement>(selector: string) => document.querySelector<T>(selector)!;
const loginForm = $<HTMLFormElement>('#login');
const loginError = $('#login-error');
const nav = $('#nav');
const logout = $('#logout');
const views = {
  fleet: $('#view-fleet'),
  live: $('#view-live'),
  models: $('#view-models'),
};
type ViewName = keyof typeof views;

const fleet = new FleetView(views.fleet);
// EventSource retries by itself; a stream refused because the session ended shows the login instead.
const live = new LiveView(views.live, () => void guarded(() => api('/api/session')));
const models = new ModelsView(views.models);
let timer: ReturnType<typeof setInterval> | undefined;

function showLogin(message?: string): void {
  clearInterval(timer);
  live.stop();
  for (const v of Object.values(views)) v.hidden = true;
  nav.hidden = true;
  logout.hidden = true;
  loginForm.hidden = false;
  loginError.hidden = message === undefined;
  loginError.textContent = message ?? '';
}

function currentView(): ViewName {
  const name = location.hash.slice(1);
  return name in views ? (name as ViewName) : 'fleet';
}

async function show(): Promise<void> {
  const name = currentView();
  loginForm.hidden = true;
  nav.hidden = false;
  logout.hidden = false;
  for (const [n, el] of Object.entries(views)) el.hidden = n !== name;
  nav.querySelectorAll<HTMLAnchorElement>('a[data-view]').forEach((a) => {
    a.classList.toggle('active', a.dataset.view === name);
  });
  clearInterval(timer);
  if (name === 'live') live.start();
  else live.stop();
  const refresh = () =>
    name === 'fleet' ? fleet.refresh() : name === 'models' ? models.refresh() : undefined;
  await guarded(refresh);
  // Fleet and Models (deployment progress) refresh every 3 s; Live has its stream.
  if (name !== 'live') timer = setInterval(() => void guarded(refresh), 3000);
}

async function guarded(work: () => Promise<void> | undefined): Promise<void> {
  try {
    await work();
  } catch (err) {
    if (err instanceof Unauthenticated) showLogin('Your session ended: sign in again.');
    else console.error(err);
  }
}

loginForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const input = $<HTMLInputElement>('#token');
  try {
    await api('/api/session', { method: 'POST', body: JSON.stringify({ token: input.value }) });
    input.value = '';
    await show();
  } catch (err) {
    input.value = '';
    showLogin(
      err instanceof Unauthenticated ? 'That admin token is not valid.' : `Sign-in failed: ${String(err)}`,
    );
  }
});

logout.addEventListener('click', async () => {
  await api('/api/session', { method: 'DELETE' }).catch(() => {});
  showLogin();
});

window.addEventListener('hashchange', () => {
  if (loginForm.hidden) void show();
});

api('/api/session').then(
  () => show(),
  () => showLogin(),
);
