// The respondent of a survey as stored: a keyed HMAC-SHA256 of the platform user id, never the
// id. The same person on the same channel always gets the same value (so the database can hold
// them to one response per occasion), and nobody without the server key can compute it from an
// id they know. The label in front keeps these hashes unrelated to any other use of the key.
import { createHmac } from 'node:crypto';

export function respondentHash(key: string, channel: string, platformUserId: string): string {
  if (key.length < 16) throw new Error('respondent key too short (use SECRET_KEY)');
  return createHmac('sha256', key).update(`motcua:survey-respondent:${channel}:${platformUserId}`).digest('hex');
}
