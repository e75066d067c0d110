// The portal's service worker: shows SecCom's pushes as notifications (one per
// intrusion: a later push with the same tag replaces it) and opens the
// intrusion's page when one is clicked, focusing it if it is open already.
self.addEventListener("push", (event) => {
  const message = event.data ? event.data.json() : { title: "SecCom", body: "", url: "/", tag: "seccom" };
  event.waitUntil(
    self.registration.showNotification(message.title, {
      body: message.body,
      tag: message.tag,
      data: { url: message.url },
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = new URL(event.notification.data?.url ?? "/", self.location.origin).href;
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((open) => {
      const page = open.find((client) => client.url === url);
      return page ? page.focus() : self.clients.openWindow(url);
    }),
  );
});
