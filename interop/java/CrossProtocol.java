import javax.jms.*;
import org.apache.activemq.ActiveMQConnectionFactory;

/**
 * The JMS side of the STOMP ⇄ JMS tests.
 *
 *   send URL QUEUE      sends a TextMessage and a BytesMessage, both with properties
 *   receive URL QUEUE N receives N messages and prints one line each:
 *                       TEXT <text> color=<color> n=<n>   or   BYTES <hex> color=<color> n=<n>
 *   hold URL QUEUE      CLIENT_ACKNOWLEDGE: receives one message, prints "holding <text>",
 *                       never acknowledges and never closes (the test then freezes the JVM)
 */
public class CrossProtocol {
    public static void main(String[] args) throws Exception {
        String mode = args[0];
        ActiveMQConnectionFactory factory = new ActiveMQConnectionFactory(args[1]);
        Connection connection = factory.createConnection();
        connection.start();
        Session session = connection.createSession(false,
                mode.equals("hold") ? Session.CLIENT_ACKNOWLEDGE : Session.AUTO_ACKNOWLEDGE);
        Queue queue = session.createQueue(args[2]);
        if (mode.equals("send")) {
            MessageProducer producer = session.createProducer(queue);
            TextMessage text = session.createTextMessage("hello from jms");
            text.setStringProperty("color", "blue");
            text.setIntProperty("n", 7);
            producer.send(text);
            BytesMessage bytes = session.createBytesMessage();
            bytes.writeBytes(new byte[] {0, 1, 2, (byte) 255});
            bytes.setStringProperty("color", "green");
            bytes.setIntProperty("n", 8);
            producer.send(bytes);
            System.out.println("sent");
        } else if (mode.equals("receive")) {
            int count = Integer.parseInt(args[3]);
            MessageConsumer consumer = session.createConsumer(queue);
            for (int i = 0; i < count; i++) {
                Message m = consumer.receive(10000);
                if (m == null) {
                    System.out.println("TIMEOUT");
                    break;
                }
                String props = " color=" + m.getStringProperty("color") + " n=" + m.getStringProperty("n");
                if (m instanceof TextMessage) {
                    System.out.println("TEXT " + ((TextMessage) m).getText() + props);
                } else if (m instanceof BytesMessage) {
                    BytesMessage b = (BytesMessage) m;
                    byte[] data = new byte[(int) b.getBodyLength()];
                    b.readBytes(data);
                    StringBuilder hex = new StringBuilder();
                    for (byte x : data) {
                        hex.append(String.format("%02x", x & 0xff));
                    }
                    System.out.println("BYTES " + hex + props);
                } else {
                    System.out.println("OTHER " + m.getClass().getName());
                }
            }
        } else if (mode.equals("hold")) {
            MessageConsumer consumer = session.createConsumer(queue);
            Message m = consumer.receive(10000);
            System.out.println(m instanceof TextMessage ? "holding " + ((TextMessage) m).getText() : "nothing");
            System.out.flush();
            Thread.sleep(Long.MAX_VALUE);
        }
        connection.close();
    }
}
