// Who a chat citizen is in the store: the contact id that dossier links (dossier_links) hang on.
// The look-up flow only sees this port; the implementation finds the channel account of the
// event (Page / OA id, or the unit's web account for the widget, as subscriptions do) and the
// citizen's contact on it, creating the contact when a link needs one (a widget visitor).
import type { SubscriberKey } from '../conversation/ports.js';
import type { SubscriptionRepository } from '../store/subscription-repository.js';

export interface ChatContactResolver {
  /**
   * The contact of this citizen; with `create`, made when absent. Null when there is none, or
   * when the channel keeps no contacts (a widget of a unit without a web account).
   */
  contactOf(who: SubscriberKey, create: { at: Date } | null): Promise<number | null>;
}

export function chatContactResolver(repo: Pick<SubscriptionRepository, 'findContact' | 'ensureContact'>): ChatContactResolver {
  return {
    async contactOf(who, create) {
      const found = await repo.findContact({ unitId: who.unitId, platform: who.channel, accountExternalId: who.accountId, userId: who.userId });
      if (!found) return null;
      if (found.contactId !== null || create === null) return found.contactId;
      return repo.ensureContact(found.accountId, who.userId, create.at);
    },
  };
}
