// Protocol constants: the A2A method names, a leaf the A2A backend (its routing and its metric labels) imports.

/**
 * The A2A methods the gateway forwards, under their v0.3 and v1.0 JSON-RPC names. A method not listed here never
 * reaches an agent: a policy cannot decide on what it does not know.
 */
export const STREAMING_METHODS: ReadonlySet<string> = new Set(['message/stream', 'tasks/resubscribe', 'SendStreamingMessage', 'SubscribeToTask']);

/** Methods whose result is an agent card: it is rewritten like the public card. */
export const CARD_METHODS: ReadonlySet<string> = new Set(['agent/getAuthenticatedExtendedCard', 'GetExtendedAgentCard']);

/** Methods that register a push-notification URL (besides `configuration` on a send). */
export const PUSH_CONFIG_METHODS: ReadonlySet<string> = new Set(['tasks/pushNotificationConfig/set', 'CreateTaskPushNotificationConfig']);

export const KNOWN_METHODS: ReadonlySet<string> = new Set([
  // v0.3
  'message/send',
  'message/stream',
  'tasks/get',
  'tasks/cancel',
  'tasks/resubscribe',
  'tasks/pushNotificationConfig/set',
  'tasks/pushNotificationConfig/get',
  'tasks/pushNotificationConfig/list',
  'tasks/pushNotificationConfig/delete',
  'agent/getAuthenticatedExtendedCard',
  // v1.0
  'SendMessage',
  'SendStreamingMessage',
  'GetTask',
  'ListTasks',
  'CancelTask',
  'SubscribeToTask',
  'CreateTaskPushNotificationConfig',
  'GetTaskPushNotificationConfig',
  'ListTaskPushNotificationConfigs',
  'DeleteTaskPushNotificationConfig',
  'GetExtendedAgentCard',
]);
