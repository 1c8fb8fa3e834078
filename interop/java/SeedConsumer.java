import javax.jms.Connection;
import javax.jms.ConnectionFactory;
import javax.jms.Destination;
import javax.jms.JMSException;
import javax.jms.Message;
import javax.jms.MessageConsumer;
import javax.jms.Session;
import javax.jms.TextMessage;

import org.apache.activemq.ActiveMQConnectionFactory;

/**
 * The seed's consumer (the receive(10000) variant), unchanged but for the broker URL, which
 * comes from args[0]. Prints "received: TEXT" per message and stops on the first null.
 */
public class SeedConsumer {

    public static void main(String[] args) throws JMSException {
        String url = args.length > 0 ? args[0] : "failover:(tcp://127.0.0.1:61616)?randomize=false";
        ConnectionFactory connectionFactory = new ActiveMQConnectionFactory(url);
        Connection connection = connectionFactory.createConnection();
        connection.start();
        System.out.println("connection started: " + url);
        Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
        Destination destination = session.createQueue("cluster-queue-01");
        MessageConsumer consumer = session.createConsumer(destination);
        while (true) {
            Message message = consumer.receive(10000);
            if (message == null) {
                break;
            }
            if (message instanceof TextMessage) {
                System.out.println("received: " + ((TextMessage) message).getText());
            } else {
                System.out.println("received non-text: " + message);
            }
        }
        consumer.close();
        session.close();
        connection.close();
        System.out.println("consuming finished");
    }
}
