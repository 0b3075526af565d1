// Consumers: reads files the way Java applications do, for
// tests/integration/template.test.js.  Run with the JDK's source launcher:
//
//   java Consumers.java properties FILE...   prints, per FILE, the base64
//       of the UTF-8 bytes of property "v" (java.util.Properties.load from
//       an InputStream, i.e. ISO 8859-1, as Spring Boot reads them)
//   java Consumers.java xml FILE...          prints, per FILE, the base64
//       of the text of the root element, of its attribute "a", of "b"
//       (javax.xml, a validating-grade XML 1.0 parser), space separated,
//       or "error" if the document is not well-formed
import java.io.FileInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Properties;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Element;

public class Consumers {
  static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  public static void main(String[] args) throws Exception {
    for (int i = 1; i < args.length; i++) {
      if (args[0].equals("properties")) {
        Properties p = new Properties();
        try (InputStream in = new FileInputStream(args[i])) {
          p.load(in);
        }
        System.out.println(b64(p.getProperty("v", "")));
      } else {
        DocumentBuilder db = DocumentBuilderFactory.newInstance().newDocumentBuilder();
        db.setErrorHandler(null);
        try {
          Element r = db.parse(new java.io.File(args[i])).getDocumentElement();
          System.out.println(b64(r.getTextContent()) + " " + b64(r.getAttribute("a")) + " " + b64(r.getAttribute("b")));
        } catch (org.xml.sax.SAXException e) {
          System.out.println("error");
        }
      }
    }
  }
}
