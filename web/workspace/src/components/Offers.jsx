import { useEffect, useState } from 'preact/hooks';
import { formatCountdown } from '../format.js';
import { workspace } from '../workspace.js';

/** How long each offer was open when first seen, for the countdown bar (the API gives only the deadline). */
const firstSeen = new Map();

function OfferCard({ offer }) {
  const [now, setNow] = useState(() => workspace.serverNow());
  useEffect(() => {
    const timer = setInterval(() => setNow(workspace.serverNow()), 250);
    return () => clearInterval(timer);
  }, []);
  const remaining = Math.max(0, offer.deadline - now);
  if (!firstSeen.has(offer.contactId)) {
    firstSeen.set(offer.contactId, offer.offeredAt ? offer.deadline - offer.offeredAt : Math.max(remaining, 1));
  }
  const total = firstSeen.get(offer.contactId);
  const busy = workspace.busy.has(`offer:${offer.contactId}`);
  const expired = remaining <= 0;
  const who = offer.customerName || 'Customer';
  const titleId = `offer-title-${offer.contactId}`;
  return (
    <article class="offer-card" data-testid="offer-card" data-contact-id={offer.contactId} aria-labelledby={titleId}>
      <div class="offer-main">
        <span class="offer-kind">Incoming chat</span>
        <h2 id={titleId} class="offer-title">{who}</h2>
        <span class="offer-queue">{offer.queueName}</span>
      </div>
      <div class="offer-timer">
        <span role="timer" aria-label={`Time left to accept: ${formatCountdown(remaining)}`} data-testid="offer-countdown">
          {expired ? 'Expired' : formatCountdown(remaining)}
        </span>
        <div class="meter" aria-hidden="true">
          <div class="meter-fill" style={{ width: `${Math.min(100, (remaining / total) * 100)}%` }} />
        </div>
      </div>
      <div class="offer-actions">
        <button
          type="button"
          class="button button--primary"
          data-testid="offer-accept"
          disabled={busy || expired}
          onClick={() => workspace.accept(offer)}
          aria-label={`Accept chat from ${who}`}
        >
          Accept
        </button>
        <button
          type="button"
          class="button"
          data-testid="offer-reject"
          disabled={busy || expired}
          onClick={() => workspace.reject(offer)}
          aria-label={`Reject chat from ${who}`}
        >
          Reject
        </button>
      </div>
    </article>
  );
}

export function Offers() {
  const offers = workspace.state?.offers || [];
  for (const id of firstSeen.keys()) if (!offers.some((o) => o.contactId === id)) firstSeen.delete(id);
  if (offers.length === 0) return null;
  return (
    <section class="offers" aria-label="Incoming chats">
      {offers.map((offer) => <OfferCard key={offer.contactId} offer={offer} />)}
    </section>
  );
}
