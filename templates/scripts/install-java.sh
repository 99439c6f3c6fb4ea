# Step: Java for Kafka and its tools, from the OS package manager. Inputs: none.
install_packages "java-17-openjdk-headless tar gzip" "openjdk-17-jre-headless tar gzip"
java -version 2>&1 | head -n 1 | sed 's/^/[kafka-lab:java] /'
